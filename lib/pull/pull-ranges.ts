import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExtraConnections } from '../ssh/extra-connections.js';
import type { Report } from '../remote/reports.js';
import { SessionRefusedError } from '../ssh/rider.js';
import type { Target } from '../ssh/target.js';
import { abortErrorFor } from '../util/abort.js';
import { LocalIOError, VerificationError, type ErrorContext } from '../util/errors.js';
import { hashGrowingFile, hashRange } from '../util/hash-range.js';
import { verifiedResult } from '../util/result.js';
import { runLanes } from '../util/work-queue.js';
import { stallError, stallTimeoutOf, watchStall } from '../util/stall-watchdog.js';
import { commitLocalFile, newFileMode, temporaryPathOf } from './local-file.js';
import type { PullOptions, PullResult } from './options.js';
import { directStarter, sessionStarter, type PullControl } from './pull-control.js';
import type { SessionStarter } from './pull-session.js';
import type { ByteSpan } from './range-plan.js';
import { giveBackRanged, resumePoint, takeRangedPartial } from './range-record.js';
import { landRange } from './range-direct.js';
import { fetchRange, type RangeTask } from './range-session.js';

/** A progress meter for bytes that move outside any stream (ProgressStream is one). */
export interface ByteMeter {
  setTotal(total: number): void;
  advanceTo(bytes: number): void;
  done(): void;
}

/** What a pull in ranges needs besides the open control. */
export interface RangedPull {
  source: Target;
  output: string;
  spans: readonly ByteSpan[];
  /** How many ranges travel at once, each lane on a connection of its own where it can. */
  lanes: number;
  options: PullOptions;
  /** Keep a failed pull's partial file (with a record of what landed) and continue one. */
  resume: boolean;
  /** performance.now() when the pull started. */
  started: number;
  /** Shows the bytes as they land. */
  meter?: ByteMeter | undefined;
  /** One range, which ssh writes into the file itself (see landRange). */
  direct?: boolean | undefined;
}

/**
 * Pulls the remote regular file into `output` in ranges, each on its own session (over an
 * extra connection where one logs in without asking, else over the control's) and written at
 * its offset into one temporary file. The commit is the single stream's: the local file's count and digest must equal the remote ones, and the remote
 * file must not have changed meanwhile (size and stamp as at the start); then fsync, rename.
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
  try {
    file = await open(temporary, flags, held ? 0o600 : (existing ?? 0o666)).catch(
      (error: Error) => {
        throw new LocalIOError(`cannot write output: ${error.message}`, {
          ...context,
          cause: error,
        });
      },
    );
    // Ranges are written at their offsets; ssh appends its one range after what landed.
    if (pull.direct) await file.truncate(tasks[0]!.from);
    else if (flags === 'r+') await file.truncate(remote.size);
    pull.meter?.setTotal(tasks.reduce((sum, task) => sum + task.span.end - task.from, 0));
    const algorithm = options.checksum ?? 'md5';
    let failed = false;
    const stopped = () => failed || Boolean(options.signal?.aborted);
    const transferred = transfer(control, tasks, file, temporary, pull, context);
    transferred.catch(() => (failed = true));
    // ssh writes the one range in order: the local hash follows it instead of waiting for it.
    const following = pull.direct
      ? hashGrowingFile(temporary, algorithm, transferred, stopped)
      : undefined;
    following?.catch(() => {});
    const digest = await transferred;
    pull.meter?.done();
    await file.close();
    file = undefined;
    const local = await (following ?? hashRange(temporary, algorithm, {}, stopped));
    if (options.signal?.aborted) throw abortErrorFor(options.signal, context);
    const localDigest = local.hash?.digest('hex') ?? '';
    if (local.bytes !== remote.size || localDigest !== digest) {
      throw new VerificationError(
        `verification failed: remote file ${remote.size} bytes ${digest || '-'}, ` +
          `received ${local.bytes} bytes ${localDigest || '-'}`,
        { bytes: remote.size, digest },
        { bytes: local.bytes, digest: localDigest },
        context,
      );
    }
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

// Runs the ranges that are still missing, while the control session reads the whole remote
// file for its digest; resolves with that digest ('' for 'none') once every range has landed
// and the remote file was as at the start after each range was read. The first failure ends
// every other session.
async function transfer(
  control: PullControl,
  tasks: readonly RangeTask[],
  file: FileHandle,
  temporary: string,
  { source, options, meter, lanes, direct }: RangedPull,
  context: ErrorContext,
): Promise<string> {
  const { connection } = control;
  // The control session reads the whole file for its digest while the ranges travel. A direct
  // range asks once its session runs: refused one, it leaves the control session untouched, to
  // carry the file itself (see pull()).
  let sum: Promise<Report> | undefined;
  const askSum = () => {
    sum ??= connection.request('sum', ['sum']);
    sum.catch(() => {});
  };
  if (!direct) askSum();
  const missing = tasks.filter((task) => task.from < task.span.end);
  let moved = 0;
  let active = missing.length;
  let failure: Error | undefined;
  const stop = (error: Error) => {
    failure ??= error;
    connection.endSessions();
  };
  const ms = stallTimeoutOf(options);
  // A session's stdio stays open in the master until the server closes its channel, which a
  // stalled link never does: the master goes too, or ending the sessions waits for keep-alives.
  const stall = watchStall(ms, { moved: () => moved, waiting: () => active > 0 }, () => {
    stop(stallError(ms, context));
    connection.kill();
  });
  const signal = options.signal;
  const onAbort = () => stop(abortErrorFor(signal!, context));
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  let changed = false;
  const running = Math.min(lanes, missing.length);
  const extra = new ExtraConnections(connection, options.singleConnection ? 1 : running);
  // A range the server refused a session (sshd MaxSessions) before a byte of it came goes to
  // another lane; any other failure ends every session.
  const carry = async (task: RangeTask, start: SessionStarter): Promise<Error | undefined> => {
    try {
      const advance = (bytes: number) => {
        moved += bytes;
        meter?.advanceTo(moved);
      };
      const stamp = direct
        ? await landRange(
            directStarter(control),
            source.path,
            task,
            temporary,
            context,
            advance,
            askSum,
          )
        : await fetchRange(start, source.path, task, file, context, advance);
      changed ||= stamp !== control.stamp;
    } catch (error) {
      if (error instanceof SessionRefusedError && task.written === 0) return error;
      stop(error as Error);
    }
    active--;
    return undefined;
  };
  await runLanes('pull', missing, running, {
    ready: async (lane, drained) => sessionStarter(control, await extra.socketOf(lane, drained)),
    carry,
    stopped: () => failure !== undefined,
  }).catch((error: Error) => stop(error));
  await extra.close();
  stall.stop();
  signal?.removeEventListener('abort', onAbort);
  if (failure !== undefined) throw failure;
  if (changed) {
    throw new VerificationError(
      'verification failed: the remote file changed during the transfer; nothing committed',
      { bytes: control.size!, digest: '' },
      { bytes: control.size!, digest: '' },
      context,
    );
  }
  askSum();
  const [digest = ''] = (await sum!).fields;
  return digest === '-' ? '' : digest;
}

/**
 * True when `error` is a direct pull's one session refused by the server (sshd MaxSessions 1,
 * and no second login without asking): the control session is then untouched and may carry
 * the file itself.
 */
export function refusedDirect(pull: Pick<RangedPull, 'direct'>, error: unknown): boolean {
  return pull.direct === true && error instanceof SessionRefusedError;
}
