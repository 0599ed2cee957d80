import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../util/errors.js';
import { pipeThrough } from '../util/pipe-through.js';
import { preferOwnError } from '../util/prefer-own-error.js';
import { withRetries, type RetryOptions } from '../util/retry.js';
import type { DirectInput } from './direct-input.js';
import type { PushInternals, PushOptions, PushResult } from './options.js';
import { PushStream } from './push-stream.js';

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
 * that can be read again: a path or a descriptor of a regular file. A path of 64 MiB or more
 * (or any, with `streams` 2 or more), without compress, limitRate or `through`, is read by
 * offset: on a long link in parallel ranges (see PushOptions.streams).
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
  const attemptOptions = resumable && rereadable ? { ...pushOptions, resume: true } : pushOptions;
  const internals: PushInternals = resumable && rereadable ? { resumeSource: sourceOf(input) } : {};
  const byOffset = typeof input === 'string' && !through && readsByOffset(input, pushOptions);
  return withRetries({ retries, onRetry, signal: pushOptions.signal }, () =>
    byOffset
      ? pushPathByOffset(input, target, attemptOptions, internals)
      : pushOnce(input, target, attemptOptions, internals, through),
  );
}

/** From this size a file is read by offset (one channel by ssh itself, or parallel ranges). */
const BY_OFFSET_MIN_BYTES = 64 << 20;

// Whether a path is pushed by offset, as the CLI does with a file on stdin: a regular file of
// 64 MiB or more, or any with streams 2 or more, sent as it is (no compression, no rate limit).
function readsByOffset(path: string, options: PushOptions): boolean {
  const { streams = 'auto', compress, limitRate } = options;
  if (compress || limitRate || streams === 1) return false;
  try {
    const stat = statSync(path);
    return stat.isFile() && (typeof streams === 'number' || stat.size >= BY_OFFSET_MIN_BYTES);
  } catch {
    return false; // the read stream reports why it cannot be read
  }
}

// One attempt at pushing the file at `path` by offset, from its start.
async function pushPathByOffset(
  path: string,
  target: string,
  options: PushOptions,
  internals: PushInternals,
): Promise<PushResult> {
  const handle = await open(path, 'r');
  try {
    return await pushDirect({ fd: handle.fd, start: 0 }, target, options, undefined, undefined, {
      resumeSource: internals.resumeSource,
    });
  } finally {
    await handle.close();
  }
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
  digestSource?: () => Promise<string>,
  extra: Pick<PushInternals, 'resumeSource'> = {},
): Promise<PushResult> {
  const stream = new PushStream(target, options, { ...extra, direct, digestSource });
  watch?.(stream);
  try {
    await pipeline([Readable.from([]), stream]);
  } catch (error) {
    throw await preferOwnError(stream.result, error, 'cannot read input', 'push', target);
  }
  return stream.result;
}
