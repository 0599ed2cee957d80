import { escapeControl } from './escape.js';

/** Stable error codes, one per exit class of the CLI. */
export type ErrorCode =
  | 'ERR_SSHSTREAM_USAGE'
  | 'ERR_SSHSTREAM_CONNECTION'
  | 'ERR_SSHSTREAM_VERIFY'
  | 'ERR_SSHSTREAM_REMOTE_IO'
  | 'ERR_SSHSTREAM_LOCAL_IO'
  | 'ERR_SSHSTREAM_PARTIAL'
  | 'ABORT_ERR';

/** Exit codes of the CLI, as documented in the README and `--help`. */
export const EXIT_CODES = {
  ok: 0,
  usage: 1,
  connection: 2,
  verify: 3,
  remoteIo: 4,
  localIo: 5,
  partial: 6,
  internal: 70,
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;

/** The exit code for each signal the CLI handles: 128 + the signal's number, after cleanup. */
const SIGNAL_EXIT_CODES = {
  SIGHUP: EXIT_CODES.sighup,
  SIGINT: EXIT_CODES.sigint,
  SIGTERM: EXIT_CODES.sigterm,
} as const;

/** A signal the CLI turns into an orderly abort. */
type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;

/** Where an error happened: the `[user@]host:path` the transfer was about. */
export interface ErrorContext {
  /** What was being done: 'push', 'pull', 'exec'. */
  operation?: string;
  /** The target as the user wrote it, e.g. `web1:/srv/app.tar`. */
  target?: string;
  cause?: unknown;
}

/** Base class of every error sshstream raises on purpose. `exitCode` is what the CLI exits with. */
export class SshStreamError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly operation: string | undefined;
  readonly target: string | undefined;
  /** The bare cause, without operation and target (the CLI builds its line from these). */
  readonly reason: string;

  constructor(code: ErrorCode, exitCode: number, reason: string, context: ErrorContext = {}) {
    super(formatMessage(reason, context), { cause: context.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.operation = context.operation;
    this.target = context.target;
    this.reason = reason;
  }
}

/** Bad arguments, or a host or path refused before ssh runs. Exit 1. */
export class UsageError extends SshStreamError {
  constructor(reason: string, context?: ErrorContext) {
    super('ERR_SSHSTREAM_USAGE', EXIT_CODES.usage, reason, context);
  }
}

/** ssh could not connect or authenticate, or the connection was lost (ssh exited 255). Exit 2. */
export class ConnectionError extends SshStreamError {
  /** False when ssh said authentication, the host key or the host name failed: no retry helps. */
  readonly retryable: boolean;
  constructor(reason: string, context?: ErrorContext) {
    super('ERR_SSHSTREAM_CONNECTION', EXIT_CODES.connection, reason, context);
    this.retryable = !PERMANENT_SSH_FAILURE.test(reason);
  }
}

const PERMANENT_SSH_FAILURE =
  /Permission denied|Host key verification failed|Could not resolve hostname|Too many authentication failures|no matching .* found|Bad configuration option|REMOTE HOST IDENTIFICATION HAS CHANGED|^cannot run ssh: /i;

/** Byte counts or hashes differ between the ends; nothing was committed. Exit 3. */
export class VerificationError extends SshStreamError {
  readonly expected: { bytes: number; digest: string };
  readonly actual: { bytes: number; digest: string };
  constructor(
    reason: string,
    expected: { bytes: number; digest: string },
    actual: { bytes: number; digest: string },
    context?: ErrorContext,
  ) {
    super('ERR_SSHSTREAM_VERIFY', EXIT_CODES.verify, reason, context);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The remote side failed: permission, missing directory, disk full, missing tool. Exit 4. */
export class RemoteIOError extends SshStreamError {
  constructor(reason: string, context?: ErrorContext) {
    super('ERR_SSHSTREAM_REMOTE_IO', EXIT_CODES.remoteIo, reason, context);
  }
}

/** Reading the local input or writing the local output failed. Exit 5. */
export class LocalIOError extends SshStreamError {
  constructor(reason: string, context?: ErrorContext) {
    super('ERR_SSHSTREAM_LOCAL_IO', EXIT_CODES.localIo, reason, context);
  }
}

/** The transfer was aborted (AbortSignal, SIGINT, SIGTERM, SIGHUP) and cleaned up. Exit 130, 143 or 129. */
export class AbortError extends SshStreamError {
  constructor(reason = 'interrupted', context?: ErrorContext, signal: NodeJS.Signals = 'SIGINT') {
    super(
      'ABORT_ERR',
      SIGNAL_EXIT_CODES[signal as HandledSignal] ?? EXIT_CODES.sigint,
      reason,
      context,
    );
    this.name = 'AbortError';
  }
}

// One place builds the human line, so the CLI, the library and the tests agree on it.
// The target is the user's text and may hold control characters: it is escaped like remote text.
function formatMessage(reason: string, { operation, target }: ErrorContext): string {
  const where = [operation, target === undefined ? undefined : escapeControl(target)]
    .filter(Boolean)
    .join(' ');
  return where ? `${where}: ${reason}` : reason;
}

/**
 * The exit code the CLI uses for any error, ours or not: a failed system call on this machine
 * (EACCES, ENOSPC, EIO ...) is local I/O; anything else that is not ours is a bug (70).
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof SshStreamError) return error.exitCode;
  return isSystemError(error) ? EXIT_CODES.localIo : EXIT_CODES.internal;
}

/** Whether `error` is a failed system call (it carries an errno code such as EIO or ENOSPC). */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const { code, errno } = (error ?? {}) as NodeJS.ErrnoException;
  return typeof errno === 'number' || (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code));
}

/**
 * Whether `error` is a programming error (TypeError, RangeError ...) rather than a failure of
 * the input, the output or the connection: it must not be reported as one of those.
 */
export function isInternalError(error: unknown): boolean {
  if (error instanceof SshStreamError || isSystemError(error)) return false;
  return (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError
  );
}
