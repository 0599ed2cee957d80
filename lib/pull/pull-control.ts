import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { encodeArgument } from '../remote/script.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { openControlConnection } from '../ssh/open-control.js';
import type { Target } from '../ssh/target.js';
import { debug } from '../util/debug.js';
import type { ErrorContext } from '../util/errors.js';
import { stallTimeoutOf } from '../util/stall-watchdog.js';
import { AUTO_MIN_BYTES } from '../util/streams.js';
import type { PullOptions } from './options.js';
import type { SessionStarter } from './pull-session.js';
import { lanesFor } from './choose-ranges.js';

/** An authenticated connection to the source host, its pull-control script ready. */
export interface PullControl {
  readonly connection: ControlConnection;
  /** The remote file's size; undefined when it is not a regular file. */
  readonly size: number | undefined;
  /** What changes when the remote file is written or replaced (compared again at the end). */
  readonly stamp: string;
  /** One round trip of the control session, in milliseconds; 0 when not measured. */
  readonly rttMs: number;
}

/**
 * Connects (one authentication), starts the remote pull-control script for `source` (it fails
 * like a pull would: no such file, a directory, permission denied) and, for a pull that may
 * travel in several lanes (`inLanes`), times one round trip for a regular file big enough for
 * more than one where `streams` is 'auto' (what chooses the lanes), or opens the connections
 * of the lanes a count given calls for, once the size is known.
 */
export async function openPullControl(
  source: Target,
  options: PullOptions,
  algorithm: ChecksumAlgorithm,
  context: ErrorContext,
  inLanes = true,
): Promise<PullControl> {
  const timeRoundTrip = inLanes && (options.streams ?? 'auto') === 'auto';
  const connection = await openControlConnection({
    destination: source,
    ssh: options,
    remoteArgs: ['pull-control', source.path, algorithm],
    context,
    stallTimeout: stallTimeoutOf(options),
    signal: options.signal,
  });
  try {
    const [sizeText = '', stamp = ''] = connection.ready.fields;
    const size = /^\d+$/.test(sizeText) ? Number(sizeText) : undefined;
    // Below AUTO_MIN_BYTES 'auto' keeps one lane whatever the round trip: not worth one more.
    const timed = timeRoundTrip && size !== undefined && size >= AUTO_MIN_BYTES;
    const mayOpenLanes = inLanes && !options.singleConnection && size !== undefined;
    if (timed && mayOpenLanes) connection.openLanesAfterLongLogin(size);
    const rttMs = timed ? await connection.roundTrip() : 0;
    debug(`pull: size ${sizeText}${rttMs ? `, round trip ${rttMs.toFixed(1)} ms` : ''}`);
    const control = { connection, size, stamp, rttMs };
    // A count given: the connections of the lanes the size calls for, and no more (one cut
    // off while it logs in counts against us on the server: see extra-connections.ts).
    const lanes =
      mayOpenLanes && typeof options.streams === 'number' ? lanesFor(control, options) : 1;
    if (lanes > 1) connection.openExtras(lanes);
    return control;
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/**
 * Has the control session itself run the remote pull (`args`: the operation and its arguments),
 * handing its output over: the one stream of a pull that chose no ranges costs no session more.
 * Once only: the control script ends with it.
 */
export function controlCarrier(control: PullControl): SessionStarter {
  return ([operation = '', ...args]) => {
    const line = [operation, ...args.map(encodeArgument)].join(' ');
    return { tag: control.connection.tag, child: control.connection.handOver(line) };
  };
}

/**
 * Starts sessions of the remote script over the control's connection (no new login), or over
 * the extra connection at `socket` (ExtraConnections).
 */
export function sessionStarter(control: PullControl, socket?: string): SessionStarter {
  return (args) => {
    const child = control.connection.spawnSession(
      args,
      { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false },
      socket,
    );
    // The script went first on stdin; nothing else follows.
    child.stdin?.end();
    return { tag: control.connection.tag, child };
  };
}

/**
 * Starts a session of the remote script like {@link sessionStarter}, with its stdout the local
 * descriptor `fd`: ssh writes the data into the file itself.
 */
export type DirectStarter = (args: readonly string[], fd: number) => ReturnType<SessionStarter>;

/** A {@link DirectStarter} over the control's connection, or the extra one at `socket`. */
export function directStarter(control: PullControl, socket?: string): DirectStarter {
  return (args, fd) => {
    // Any descriptor number is passed on to the child; execa's types list only a few.
    const stdout = fd as 1;
    const child = control.connection.spawnSession(
      args,
      { stdin: 'pipe', stdout, stderr: 'pipe', buffer: false },
      socket,
    );
    child.stdin?.end();
    return { tag: control.connection.tag, child };
  };
}
