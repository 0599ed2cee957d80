import { UsageError } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';

/** A parsed `[user@]host:path` or `[user@][v6addr]:path`. */
export interface Target {
  /** Login user, when given in the target. */
  user: string | undefined;
  /** Host name, ssh_config alias or IP address (IPv6 without brackets). */
  host: string;
  /** Remote path, byte-exact as given (relative paths are relative to the remote home). */
  path: string;
  /** The target as the user wrote it, for messages. */
  display: string;
}

// Host names, aliases and IPv4 addresses. Anything else (a leading '-', whitespace, quotes,
// shell metacharacters) could be read by ssh as an option or by a shell as syntax: refused.
const HOST = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Parses and validates a transfer target; throws UsageError (exit 1) before any ssh runs. */
export function parseTarget(spec: string, operation?: string): Target {
  if (typeof spec !== 'string') {
    throw new UsageError(`target must be a string, not ${typeof spec}`, { operation });
  }
  const context = { operation, target: spec };
  if (spec.includes('\0')) throw new UsageError('target contains a NUL byte', context);
  // A lone surrogate would reach the remote side as U+FFFD: a different name, silently.
  if (LONE_SURROGATE.test(spec)) {
    throw new UsageError('target is not valid Unicode (a lone surrogate)', context);
  }
  const { user, host, path } = splitTarget(spec, context);
  if (user !== undefined && !isSafeUser(user)) {
    throw new UsageError(
      `refused user name "${escapeControl(user)}": not a plain login name`,
      context,
    );
  }
  if (!isSafeHost(host)) {
    throw new UsageError(
      `refused host "${escapeControl(host)}": not a host name, alias or IP address`,
      context,
    );
  }
  if (path === '') throw new UsageError('no remote path after ":"', context);
  return { user, host, path, display: spec };
}

/** True for login names ssh cannot mistake for options or expand into a shell command (%r). */
export function isSafeUser(user: string): boolean {
  return USER.test(user);
}

/** True for host names, aliases and IP addresses ssh cannot mistake for options. */
export function isSafeHost(host: string): boolean {
  return HOST.test(host) || (host.includes(':') && IPV6.test(host));
}

function splitTarget(
  spec: string,
  context: { operation: string | undefined; target: string },
): { user: string | undefined; host: string; path: string } {
  const at = spec.indexOf('@');
  const colon = spec.indexOf(':');
  const hasUser = at !== -1 && (colon === -1 || at < colon || spec[at + 1] === '[');
  const user = hasUser ? spec.slice(0, at) : undefined;
  const rest = hasUser ? spec.slice(at + 1) : spec;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1 || rest[close + 1] !== ':') {
      throw new UsageError('expected [address]:path', context);
    }
    return { user, host: rest.slice(1, close), path: rest.slice(close + 2) };
  }
  const sep = rest.indexOf(':');
  if (sep === -1) throw new UsageError('expected [user@]host:path', context);
  return { user, host: rest.slice(0, sep), path: rest.slice(sep + 1) };
}
