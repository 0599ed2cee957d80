import type { Hash } from 'node:crypto';
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { abortErrorFor } from '../util/abort.js';
import { LocalIOError, VerificationError, type ErrorContext } from '../util/errors.js';
import { hashGrowingFile, hashRange } from '../util/hash-range.js';
import { verifiedResult } from '../util/result.js';
import { flushWhileLanding, type LandingFlush } from './landing-flush.js';
import { commitLocalFile, newFileMode, temporaryPathOf } from './local-file.js';
import type { PullResult } from './options.js';
import type { PullControl } from './pull-control.js';
import { giveBackRanged, resumePoint, takeRangedPartial } from './range-record.js';
import { canLandRanges, landingIn } from './range-direct.js';
import type { RangeTask } from './range-session.js';
import { refusedDirect, transferRanges, type RangedPull } from './range-transfer.js';

/**
 * Pulls the remote regular file into `output` in ranges (see transferRanges), written at their
 * offsets into one temporary file; with `pull.direct`, by ssh itself. The commit is the single
 * stream's: the local file's count and digest must equal the remote ones, and the remote file
 * must not have changed meanwhile (size and stamp as at the start); then fsync, rename. A
 * resumable pull gives back what landed, with a record of it, when it fails.
 */
export async function pullInRanges(control: PullControl, pull: RangedPull): Promise<PullResult> {
  const { source, output, options, resume } = pull;
  const context: ErrorContext = { operation: 'pull', target: source.display };
  const remote = { size: control.size!, stamp: control.stamp };
  const existing = await stat(output).then(
    (found) => found.mode & 0o7777,
    () => undefined,
  );
  const held = resume ? await takeRangedPartial(output, remote) : undefined;
  const temporary = held?.own ?? temporaryPathOf(output);
  const tasks: RangeTask[] = pull.spans.map((span) => ({
    span,
    from: resumePoint(span, held?.landed ?? []),
    written: 0,
  }));
  const flags = held?.landed.length ? 'r+' : held?.taken ? 'w' : 'wx';
  let file: FileHandle | undefined;
  let flushing: LandingFlush | undefined;
  try {
    file = await open(temporary, flags, held ? 0o600 : (existing ?? 0o666)).catch(
      (error: Error) => {
        throw new LocalIOError(`cannot write output: ${error.message}`, {
          ...context,
          cause: error,
        });
      },
    );
    const single = tasks.length === 1;
    const direct = pull.direct === true && (single || canLandRanges(file.fd));
    // Ranges are written at their offsets (ssh's too: its descriptor reads its way to them),
    // but ssh appends one range alone after what landed of it.
    if (direct && single) await file.truncate(tasks[0]!.from);
    else if (flags === 'r+' || direct) await file.truncate(remote.size);
    pull.meter?.setTotal(tasks.reduce((sum, task) => sum + task.span.end - task.from, 0));
    flushing = flushWhileLanding(file);
    const algorithm = options.checksum ?? 'md5';
    let failed = false;
    const stopped = () => failed || Boolean(options.signal?.aborted);
    const transferred = transferRanges(
      control,
      tasks,
      file,
      landingIn(temporary, context),
      { ...pull, direct },
      context,
    );
    transferred.catch(() => (failed = true));
    // ssh writes the one range in order: the local hash follows it instead of waiting for it.
    const following =
      direct && single ? hashGrowingFile(temporary, algorithm, transferred, stopped) : undefined;
    following?.catch(() => {});
    const digest = await transferred;
    pull.meter?.done();
    // The rest goes to the disk while the file is hashed, not after: 1 GiB in ranges here took
    // the hash's 1.8 s and then the fsync's 0.8 s, which commitLocalFile's fsync now finds done.
    const flushed = flushing.finish();
    flushed.catch(() => {});
    const local = await (following ?? hashRange(temporary, algorithm, {}, stopped));
    await flushed;
    await file.close();
    file = undefined;
    if (options.signal?.aborted) throw abortErrorFor(options.signal, context);
    verifyLanded(remote.size, digest, local, context);
    const mode = held ? (existing ?? (await newFileMode(dirname(output)))) : existing;
    await commitLocalFile(temporary, output, mode);
    return verifiedResult({
      target: source.display,
      bytes: remote.size,
      algorithm: options.checksum ?? 'md5',
      digest,
      started: pull.started,
      compress: undefined,
      resumed: tasks.reduce((sum, task) => sum + task.from - task.span.start, 0),
    });
  } catch (error) {
    pull.meter?.done();
    if (!refusedDirect(pull, error)) control.connection.kill();
    await flushing?.stop();
    await file?.close().catch(() => {});
    if (held && !(error instanceof VerificationError)) {
      const landed = tasks.map(({ span, from, written }) => ({
        start: span.start,
        end: from + written,
      }));
      await giveBackRanged(temporary, output, remote, landed);
    } else {
      await unlink(temporary).catch(() => {});
    }
    // Aborting kills ssh: what that did to a session is the abort, not a lost connection.
    throw options.signal?.aborted ? abortErrorFor(options.signal, context) : error;
  }
}

/**
 * Throws the VerificationError of a pull whose landed bytes (`local`: counted, and hashed
 * unless the algorithm is 'none') differ from the remote file's `size` bytes with `digest`.
 */
export function verifyLanded(
  size: number,
  digest: string,
  local: { bytes: number; hash: Hash | undefined },
  context: ErrorContext,
): void {
  const localDigest = local.hash?.digest('hex') ?? '';
  if (local.bytes !== size || localDigest !== digest) {
    throw new VerificationError(
      `verification failed: remote file ${size} bytes ${digest || '-'}, ` +
        `received ${local.bytes} bytes ${localDigest || '-'}`,
      { bytes: size, digest },
      { bytes: local.bytes, digest: localDigest },
      context,
    );
  }
}
