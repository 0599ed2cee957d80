import { customSshCommand } from '../ssh/command.js';
import { chooseStreams } from '../util/streams.js';
import type { PullOptions } from './options.js';
import type { PullControl } from './pull-control.js';
import { planRanges } from './range-plan.js';

/**
 * Whether a pull may open a control connection and travel in ranges, or straight into a file.
 * Ranges need bytes as they are on the remote disk: a compressed or rate-limited pull takes one
 * stream (each range would compress or throttle on its own). --streams 1 keeps the single
 * session, with no control connection at all, and so does 'auto' with an ssh command of the
 * user's (--ssh): a wrapper may not carry a control session (one that buffers its output would
 * hold it up for good), so only a number asks it to.
 */
export function mayUseRanges(options: PullOptions): boolean {
  const streams = options.streams ?? 'auto';
  if (streams === 1 || (streams === 'auto' && customSshCommand(options) !== undefined)) {
    return false;
  }
  return !options.compress && !options.limitRate && !options.resumeFrom;
}

// A regular file this big in one stream goes straight from ssh into the local file too (see
// landRange), not over the control session. ssh writing into node's pipe cost it more CPU than
// the decryption (16 MiB took 1.5 s here, against 0.75 s straight into the file); below this
// size the one session more that it needs (a round trip) costs more than that saves.
const DIRECT_MIN_BYTES = 4 * 1024 * 1024;

/** Whether ssh writes the ranges into the local file itself: where the login shell is quiet. */
export function landsDirectly(control: PullControl, lanes: number): boolean {
  const big = lanes > 1 || (control.size ?? 0) >= DIRECT_MIN_BYTES;
  return big && control.connection.quietLogin;
}

/** How many lanes (channels, or connections that log in without asking) carry the file. */
export function lanesFor(control: PullControl, options: PullOptions): number {
  const count = chooseStreams(control.rttMs, control.size!, options.streams ?? 'auto');
  return planRanges(control.size!, count).length;
}
