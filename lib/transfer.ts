import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LocalIOError, SshStreamError } from './errors.js';
import { writeFileAtomic } from './local-file.js';
import { createPullStream, type PullOptions, type PullResult } from './pull.js';
import { createPushStream, type PushOptions, type PushResult } from './push.js';

/**
 * Pushes `input` (a Readable, or a local file path) to `target` and resolves with the verified
 * result. Rejects with a typed error; the remote destination is then untouched.
 */
export async function push(
  input: Readable | string,
  target: string,
  options: PushOptions = {},
): Promise<PushResult> {
  const stream = createPushStream(target, options);
  const source = typeof input === 'string' ? createReadStream(input) : input;
  try {
    await pipeline(source, stream);
  } catch (error) {
    throw await preferOwnError(stream.result, error, 'cannot read input', 'push', target);
  }
  return stream.result;
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
