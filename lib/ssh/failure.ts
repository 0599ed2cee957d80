import {
  ConnectionError,
  RemoteIOError,
  type ErrorContext,
  type SshStreamError,
} from '../util/errors.js';
import type { ReportReader } from '../remote/reports.js';
import { SessionRefusedError, sessionRefusal } from './rider.js';
import { missingSshCommand } from './command.js';

/** What we know about a finished ssh process. */
export interface SshExit {
  exitCode?: number | undefined;
  signal?: string | undefined;
  /** The errno code when ssh could not be started at all (ENOENT: not on PATH). */
  code?: string | undefined;
}

// What OpenSSH's sshd prints (on the session's stdout) instead of running a command for an
// account restricted by `ForceCommand internal-sftp`.
const SFTP_ONLY = /^This service allows sftp connections only\.?$/;

// ssh's own lines for a refused login: the final one, and the one after a wrong password (a
// password feeder such as sshpass gives up there, with its own exit status).
const AUTH_FAILED =
  /^(?:\S+: )?Permission denied \([\w,-]+\)\.?$|^Permission denied, please try again\.?$|Too many authentication failures/;

/**
 * Turns a failed ssh process into the error the user sees. The remote script's own report wins
 * (it knows the cause); ssh's exit status 255 means the connection failed or was lost.
 * `stdoutLine` is the last untagged line of the session's stdout (the server speaks there when
 * it refuses to run commands at all).
 */
export function classifyFailure(
  exit: SshExit,
  stderr: ReportReader,
  context: ErrorContext,
  stdoutLine = '',
): SshStreamError {
  const reported = stderr.error;
  if (reported) return new RemoteIOError(reported.message, context);
  const said = stderr.lastLine;
  const missing = missingSshCommand(exit, said);
  if (missing !== undefined) {
    return new ConnectionError(missing, context);
  }
  const refused = exit.exitCode === 255 ? sessionRefusal(stderr, said) : undefined;
  if (refused !== undefined) return new SessionRefusedError(refused, context);
  if (AUTH_FAILED.test(said)) return new ConnectionError(`authentication failed: ${said}`, context);
  if (exit.exitCode === 255) {
    return new ConnectionError(
      said || 'connection failed or lost (ssh exited with status 255)',
      context,
    );
  }
  if (exit.exitCode === 1 && SFTP_ONLY.test(stdoutLine)) {
    return new RemoteIOError(
      `the server allows this account sftp only (ForceCommand internal-sftp), and sshstream needs to run sh there; the server said: ${stdoutLine}`,
      context,
    );
  }
  if (exit.signal) {
    return new ConnectionError(
      `ssh was killed by ${exit.signal}${said ? `: ${said}` : ''}`,
      context,
    );
  }
  if (exit.exitCode === 127) {
    return new RemoteIOError(`remote shell could not run sh${said ? `: ${said}` : ''}`, context);
  }
  return new RemoteIOError(
    `remote command failed with status ${exit.exitCode ?? '?'}${said ? `: ${said}` : ''}`,
    context,
  );
}
