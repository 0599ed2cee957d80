import type { Duplex, Writable } from 'node:stream';
import { UsageError } from '../util/errors.js';
import { pipeThrough } from '../util/pipe-through.js';
import { preferOwnError } from '../util/prefer-own-error.js';
import { withRetries, type RetryOptions } from '../util/retry.js';
import { writeFileAtomic } from './local-file.js';
import { pullIntoPartial } from './local-partial.js';
import { createPullStream, type PullOptions, type PullResult } from './pull.js';
import type { PullStream } from './pull-stream.js';
import { controlCarrier, openPullControl } from './pull-control.js';
import type { SessionStarter } from './pull-session.js';
import { pullInRanges } from './pull-ranges.js';
import { refusedDirect, type ByteMeter } from './range-transfer.js';
import { planRanges } from './range-plan.js';
import { landsDirectly, lanesFor, mayUseRanges } from './choose-ranges.js';
import { discardRangeRecord, hasPlainPartial } from './range-record.js';
import { parseTarget } from '../ssh/target.js';

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
  /** A progress meter for a pull in ranges (its bytes pass through no stream), made anew for each attempt. */
  meter?: (() => ByteMeter | undefined) | undefined;
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
  const { retries = 0, onRetry, through, meter, resume, ...pullOptions } = options;
  if (typeof output !== 'string' && (retries > 0 || resume)) {
    throw new UsageError('resume and retries need a local file as the output', {
      operation: 'pull',
      target: source,
    });
  }
  return withRetries({ retries, onRetry, signal: pullOptions.signal }, async () => {
    const started = performance.now();
    const target = parseTarget(source, 'pull');
    const control =
      typeof output === 'string' && mayUseRanges(pullOptions)
        ? await openPullControl(target, pullOptions, pullOptions.checksum ?? 'md5', {
            operation: 'pull',
            target: target.display,
          })
        : undefined;
    try {
      const lanes = control?.size !== undefined ? lanesFor(control, pullOptions) : 1;
      // Lanes a long login opened on a guess, fitted to those the round trip chose.
      control?.connection.keepExtras(lanes);
      const resumable = retries > 0 || resume === true;
      const direct =
        control !== undefined &&
        landsDirectly(control, lanes) &&
        !(lanes === 1 && resumable && (await hasPlainPartial(output as string)));
      if (control && (lanes > 1 || direct)) {
        const ranged = {
          source: target,
          output: output as string,
          spans: planRanges(control.size!, lanes),
          lanes,
          options: pullOptions,
          resume: resumable,
          started,
          meter: meter?.(),
          direct,
        };
        const landed = await pullInRanges(control, ranged).catch((error: unknown) => {
          // The server allows one session (the control's): it carries the file (below).
          if (refusedDirect(ranged, error) && control.connection.alive) return undefined;
          throw error;
        });
        if (landed) return landed;
      }
      const starter = control && controlCarrier(control);
      return await pullOneStream(
        source,
        output,
        pullOptions,
        { retries, resume, through },
        starter,
      );
    } finally {
      await control?.connection.close();
    }
  });
}

// One session carries the whole file: over the control's connection when there is one.
async function pullOneStream(
  source: string,
  output: Writable | string,
  pullOptions: PullOptions,
  { retries, resume, through }: Pick<PullWithRetriesOptions, 'retries' | 'resume' | 'through'>,
  starter: SessionStarter | undefined,
): Promise<PullResult> {
  if (typeof output === 'string' && ((retries ?? 0) > 0 || resume)) {
    const algorithm = pullOptions.checksum ?? 'md5';
    let stream: PullStream | undefined;
    const start = (resumeFrom: PullOptions['resumeFrom']) =>
      (stream = createPullStream(source, { ...pullOptions, resumeFrom }, starter));
    try {
      await pullIntoPartial(output, algorithm, start, through);
    } catch (error) {
      const own = stream?.result ?? Promise.resolve();
      throw await preferOwnError(own, error, 'cannot write output', 'pull', source);
    }
    await discardRangeRecord(output);
    return stream!.result;
  }
  const stream = createPullStream(source, pullOptions, starter);
  const stages = through?.(stream) ?? [];
  try {
    if (typeof output === 'string') await writeFileAtomic(stream, output, { through: stages });
    else await pipeThrough(stream, stages, output);
  } catch (error) {
    throw await preferOwnError(stream.result, error, 'cannot write output', 'pull', source);
  }
  return stream.result;
}
