import type { Duplex, Writable } from 'node:stream';
import { UsageError } from '../util/errors.js';
import { pipeThrough } from '../util/pipe-through.js';
import { preferOwnError } from '../util/prefer-own-error.js';
import { withRetries, type RetryOptions } from '../util/retry.js';
import { writeFileAtomic } from './local-file.js';
import { pullIntoPartial } from './local-partial.js';
import { createPullStream, type PullOptions, type PullResult } from './pull.js';
import type { PullStream } from './pull-stream.js';

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
