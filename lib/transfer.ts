import { createReadStream } from 'node:fs';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DirectInput } from './push/direct-input.js';
import { LocalIOError, SshStreamError, UsageError, isInternalError } from './util/errors.js';
import { withRetries, type RetryOptions } from './util/retry.js';
import { writeFileAtomic } from './pull/local-file.js';
import { pipeThrough } from './util/pipe-through.js';
import { pullIntoPartial } from './pull/local-partial.js';
import { createPullStream, type PullOptions, type PullResult } from './pull/pull.js';
import type { PullStream } from './pull/pull-stream.js';
import type { PushInternals, PushOptions, PushResult } from './push/options.js';
import { PushStream } from './push/push-stream.js';

/** Where a push reads from: a stream (read once), or a local path or descriptor (re-readable). */
export type PushInput = Readable | string | { fd: number };

/** Options of push(): those of createPushStream plus retries. */
export interface PushWithRetriesOptions extends PushOptions, RetryOptions {
  /** Transforms between the input and the push (a progress meter, say), made anew for each attempt. */
  through?: ((stream: PushStream) => Duplex[]) | undefined;
}

/**
 * Pushes `input` to `target` and resolves with the verified result. Rejects with a typed error;
 * the remote destination is then untouched. `retries` (which implies `resume`) needs an input
 * that can be read again: a path or a descriptor of a regular file.
 */
export function push(
  input: PushInput,
  target: string,
  options: PushWithRetriesOptions = {},
): Promise<PushResult> {
  return pushWithRetries(input, target, options, {});
}

/** push(), with the internal inputs of a PushStream (a fan-out passes its digest). */
export async function pushWithRetries(
  input: PushInput,
  target: string,
  options: PushWithRetriesOptions,
  internals: PushInternals,
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
  const attemptOptions = resumable && rereadable ? { ...pushOptions, resume: true } : pushOptions;
  const attemptInternals =
    resumable && rereadable ? { ...internals, resumeSource: sourceOf(input) } : internals;
  return withRetries({ retries, onRetry, signal: pushOptions.signal }, () =>
    pushOnce(input, target, attemptOptions, attemptInternals, through),
  );
}

async function pushOnce(
  input: PushInput,
  target: string,
  options: PushOptions,
  internals: PushInternals,
  through: PushWithRetriesOptions['through'],
): Promise<PushResult> {
  const stream = new PushStream(target, options, internals);
  const stages = through?.(stream) ?? [];
  try {
    await pipeThrough(openInput(input), stages, stream);
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

/**
 * Pushes a regular file that ssh reads by itself from descriptor `direct.fd` (see
 * PushInternals.direct): nothing passes through node. Resolves with the verified result.
 */
export async function pushDirect(
  direct: DirectInput,
  target: string,
  options: PushOptions = {},
  watch?: (stream: PushStream) => void,
): Promise<PushResult> {
  const stream = new PushStream(target, options, { direct });
  watch?.(stream);
  try {
    await pipeline([Readable.from([]), stream]);
  } catch (error) {
    throw await preferOwnError(stream.result, error, 'cannot read input', 'push', target);
  }
  return stream.result;
}

/** Options of pull(): those of createPullStream plus resume and retries for a local path. */
export interface PullWithRetriesOptions extends PullOptions, RetryOptions {
  /**
   * With a local path: keep a failed pull's partial file (`.NAME.sshstream-partial`) and
   * continue one left by an earlier resumable pull when the remote file starts with it.
   * `retries` implies it.
   */
  resume?: boolean | undefined;
  /** Transforms between the pull and the output (a progress meter, say), made anew for each attempt. */
  through?: ((stream: PullStream) => Duplex[]) | undefined;
}

/**
 * Pulls `source` into `output` (a Writable, or a local path written atomically: a temporary
 * file renamed into place only after verification) and resolves with the verified result.
 */
export async function pull(
  source: string,
  output: Writable | string,
  options: PullWithRetriesOptions = {},
): Promise<PullResult> {
  const { retries = 0, onRetry, through, resume, ...pullOptions } = options;
  if (typeof output !== 'string' && (retries > 0 || resume)) {
    throw new UsageError('resume and retries need a local file as the output', {
      operation: 'pull',
      target: source,
    });
  }
  return withRetries({ retries, onRetry, signal: pullOptions.signal }, async () => {
    if (typeof output === 'string' && (retries > 0 || resume)) {
      const algorithm = pullOptions.checksum ?? 'md5';
      let stream: PullStream | undefined;
      const start = (resumeFrom: PullOptions['resumeFrom']) =>
        (stream = createPullStream(source, { ...pullOptions, resumeFrom }));
      try {
        await pullIntoPartial(output, algorithm, start, through);
      } catch (error) {
        const own = stream?.result ?? Promise.resolve();
        throw await preferOwnError(own, error, 'cannot write output', 'pull', source);
      }
      return stream!.result;
    }
    const stream = createPullStream(source, pullOptions);
    const stages = through?.(stream) ?? [];
    try {
      if (typeof output === 'string') await writeFileAtomic(stream, output, { through: stages });
      else await pipeThrough(stream, stages, output);
    } catch (error) {
      throw await preferOwnError(stream.result, error, 'cannot write output', 'pull', source);
    }
    return stream.result;
  });
}

// When a pipeline fails, our stream's typed error names the cause; anything else happened on
// the local side (reading the input, writing the output), unless it is a bug.
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
  // A bug (a TypeError, say) stays what it is: reported as a disk error it would mislead.
  if (isInternalError(error)) return error as Error;
  return new LocalIOError(`${what}: ${(error as Error).message}`, {
    operation,
    target,
    cause: error,
  });
}
