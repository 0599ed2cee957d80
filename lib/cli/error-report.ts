import { abortErrorFor } from '../util/abort.js';
import { AbortError, EXIT_CODES, SshStreamError, exitCodeOf } from '../util/errors.js';
import { escapeControl, escapeRawControl } from '../util/escape.js';

/**
 * The error to report once the user sent a signal: whatever failed next (ssh killed by the
 * same SIGINT or SIGHUP, say) is only its echo, so the exit code is the signal's.
 */
export function abortedBy(signal: AbortSignal, error: unknown): unknown {
  if (error instanceof AbortError) return error;
  const { operation, target } = error instanceof SshStreamError ? error : {};
  return abortErrorFor(signal, { operation, target, cause: error });
}

/**
 * What the CLI prints for an error: one line, and for an error that is not sshstream's own
 * nor a failed system call, a line that says so (a bug), with the stack when `debug` is set.
 */
export function errorReport(error: unknown, debug = false): string {
  if (exitCodeOf(error) !== EXIT_CODES.internal) return `sshstream: ${errorLine(error)}\n`;
  const stack = error instanceof Error && error.stack ? error.stack : String(error);
  return (
    `sshstream: internal error (a bug in sshstream, please report it): ${errorLine(error)}` +
    (debug ? `\n${stack}\n` : ' (set SSHSTREAM_DEBUG=1 for the stack)\n')
  );
}

function errorLine(error: unknown): string {
  if (error instanceof Error) return escapeRawControl(error.message.replace(/\n/g, ' '));
  return escapeControl(String(error));
}
