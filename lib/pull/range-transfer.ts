import type { FileHandle } from 'node:fs/promises';
import { ExtraConnections } from '../ssh/extra-connections.js';
import type { Report } from '../remote/reports.js';
import { SessionRefusedError } from '../ssh/rider.js';
import type { Target } from '../ssh/target.js';
import { abortErrorFor } from '../util/abort.js';
import { VerificationError, type ErrorContext } from '../util/errors.js';
import { runLanes } from '../util/work-queue.js';
import { stallError, stallTimeoutOf, watchStall } from '../util/stall-watchdog.js';
import type { PullOptions } from './options.js';
import { directStarter, sessionStarter, type PullControl } from './pull-control.js';
import type { ByteSpan } from './range-plan.js';
import { landRange, type LandingFor } from './range-direct.js';
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
  /** ssh writes each range into the file itself (see landRange, canLandRanges). */
  direct?: boolean | undefined;
}

/**
 * Runs the ranges of `tasks` that are still missing, each on a session of its own (over an
 * extra connection where one logs in without asking), written into the local file (`file` by
 * node, or by ssh itself where `landAt` says when `pull.direct`), while the control session reads
 * the whole remote file for its digest. Resolves with that digest ('' for 'none') once every
 * range has landed and the remote file was as at the start after each range was read. The
 * first failure ends every other session.
 */
export async function transferRanges(
  control: PullControl,
  tasks: readonly RangeTask[],
  file: FileHandle,
  landAt: LandingFor,
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
  // Opened while the master logged in, for a count the user gave (openPullControl).
  const extra =
    connection.takeExtras() ??
    new ExtraConnections(connection, options.singleConnection ? 1 : running);
  // A range the server refused a session (sshd MaxSessions) before a byte of it came goes to
  // another lane; any other failure ends every session.
  const carry = async (task: RangeTask, socket: string | undefined): Promise<Error | undefined> => {
    try {
      const advance = (bytes: number) => {
        moved += bytes;
        meter?.advanceTo(moved);
      };
      const stamp = direct
        ? await landRange(
            directStarter(control, socket),
            source.path,
            task,
            landAt,
            context,
            advance,
            askSum,
          )
        : await fetchRange(
            sessionStarter(control, socket),
            source.path,
            task,
            file,
            context,
            advance,
          );
      changed ||= stamp !== control.stamp;
    } catch (error) {
      if (error instanceof SessionRefusedError && task.written === 0) return error;
      stop(error as Error);
    }
    active--;
    return undefined;
  };
  await runLanes('pull', missing, running, {
    ready: (lane, drained) => extra.socketOf(lane, drained),
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
export function refusedDirect(pull: Pick<RangedPull, 'direct' | 'spans'>, error: unknown): boolean {
  return pull.direct === true && pull.spans.length === 1 && error instanceof SessionRefusedError;
}
