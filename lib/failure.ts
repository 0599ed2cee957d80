import {
  ConnectionError,
  RemoteIOError,
  type ErrorContext,
  type SshStreamError,
} from './errors.js';
import type { ReportReader } from './reports.js';

/** What we know about a finished ssh process. */
export interface SshExit {
  exitCode?: number | undefined;
  signal?: string | undefined;
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
