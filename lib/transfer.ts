import { createReadStream } from 'node:fs';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { ConnectionError, LocalIOError, SshStreamError, UsageError } from './errors.js';
import { writeFileAtomic } from './local-file.js';
import { createPullStream, type PullOptions, type PullResult } from './pull.js';
import { createPushStream, type PushOptions, type PushResult, type PushStream } from './push.js';

/** Where a push reads from: a stream (read once), or a local path or descriptor (re-readable). */
export type PushInput = Readable | string | { fd: number };

/** Options of push(): those of createPushStream plus retries. */
export interface PushWithRetriesOptions extends PushOptions {
  /**
   * Retry this many times when the connection fails or drops, continuing from what already
   * landed (implies `resume`). Needs a re-readable input (a path or a descriptor of a regular
   * file). Failures that retrying cannot fix (authentication, permission, disk full, mismatch)
   * are not retried.
   */
  retries?: number | undefined;
  /** Called before each retry with the attempt number (2, 3, ...), the error and the delay in ms. */
  onRetry?: ((attempt: number, error: Error, delayMs: number) => void) | undefined;
  /** Transforms between the input and the push (a progress meter, say), made anew for each attempt. */
  through?: ((stream: PushStream) => Duplex[]) | undefined;
}

/**
 * Pushes `input` to `target` and resolves with the verified result. Rejects with a typed error;
 * the remote destination is then untouched.
 */
export async function push(
  input: PushInput,
  target: string,
  options: PushWithRetriesOptions = {},
): Promise<PushResult> {
  const { retries = 0, onRetry, through, ...pushOptions } = options;
  const rereadable = !(input instanceof Readable);
  if (retries > 0 && !rereadable) {
    throw new UsageError('retries need a re-readable input (a file), not a stream', {
      operation: 'push',
      target,
    });
  }
  const resumable = retries > 0 || pushOptions.resume === true;
  const resumeSource = rereadable && resumable ? sourceOf(input) : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const attemptOptions = {
        ...pushOptions,
        ...(resumable ? { resume: true, resumeSource } : {}),
      };
      return await pushOnce(input, target, attemptOptions, through);
    } catch (error) {
      if (attempt > retries || !isRetryable(error) || pushOptions.signal?.aborted) throw error;
      const delayMs = Math.min(30_000, 500 * 2 ** (attempt - 1));
      onRetry?.(attempt + 1, error as Error, delayMs);
      await sleep(
        delayMs,
        undefined,
        pushOptions.signal ? { signal: pushOptions.signal } : {},
      ).catch(() => {
        throw error;
      });
    }
  }
}

async function pushOnce(
  input: PushInput,
  target: string,
  options: PushOptions,
  through: PushWithRetriesOptions['through'],
): Promise<PushResult> {
  const stream = createPushStream(target, options);
  const stages = through?.(stream) ?? [];
  try {
    await pipeline([openInput(input), ...stages, stream] as unknown as NodeJS.WritableStream[]);
  } catch (error) {
    throw await preferOwnError(stream.result, error, 'cannot read input', 'push', target);
  }
  return stream.result;
}

function sourceOf(input: string | { fd: number }): string | number {
  return typeof input === 'string' ? input : input.fd;
}

// A path or descriptor is read from its start on every attempt (pread: the descriptor's own
// offset does not move).
function openInput(input: PushInput): Readable {
  if (input instanceof Readable) return input;
  if (typeof input === 'string') return createReadStream(input);
  return createReadStream('', { fd: input.fd, start: 0, autoClose: false });
}

// Only a failed or lost connection is worth another try, and not when ssh itself said that
// authentication or the host key failed.
function isRetryable(error: unknown): boolean {
  return error instanceof ConnectionError && error.retryable;
}

/**
 * Pulls `source` into `output` (a Writable, or a local path written atomically: a temporary
 * file renamed into place only after verification) and resolves with the verified result.
 */
export async function pull(
  source: string,
  output: Writable | string,
  options: PullOptions = {},
): Promise<PullResult> {
  const stream = createPullStream(source, options);
  try {
    if (typeof output === 'string') await writeFileAtomic(stream, output);
    else await pipeline(stream, output);
  } catch (error) {
    throw await preferOwnError(stream.result, error, 'cannot write output', 'pull', source);
  }
  return stream.result;
}

// When a pipeline fails, our stream's typed error names the cause; anything else happened on
// the local side.
async function preferOwnError(
  result: Promise<unknown>,
  error: unknown,
  what: string,
  operation: string,
  target: string,
): Promise<Error> {
  const own = await result.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (own instanceof SshStreamError) return own;
  if (error instanceof SshStreamError) return error;
  return new LocalIOError(`${what}: ${(error as Error).message}`, {
    operation,
    target,
    cause: error,
  });
}
