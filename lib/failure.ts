import {
  ConnectionError,
  RemoteIOError,
  type ErrorContext,
  type SshStreamError,
} from './errors.js';
import type { ReportReader } from './reports.js';
import { missingSshCommand } from './ssh.js';

/** What we know about a finished ssh process. */
export interface SshExit {
  exitCode?: number | undefined;
  signal?: string | undefined;
  /** The errno code when ssh could not be started at all (ENOENT: not on PATH). */
  code?: string | undefined;
}

/**
 * Turns a failed ssh process into the error the user sees. The remote script's own report wins
 * (it knows the cause); ssh's exit status 255 means the connection failed or was lost.
 */
export function classifyFailure(
  exit: SshExit,
  stderr: ReportReader,
  context: ErrorContext,
): SshStreamError {
  const reported = stderr.error;
  if (reported) return new RemoteIOError(reported.message, context);
  const said = stderr.lastLine;
  const missing = missingSshCommand(exit, said);
  if (missing !== undefined) {
    return new ConnectionError(missing, context);
  }
  if (exit.exitCode === 255) {
    return new ConnectionError(
      said || 'connection failed or lost (ssh exited with status 255)',
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
