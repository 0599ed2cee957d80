import type { Duplex } from 'node:stream';
import { UsageError } from '../util/errors.js';
import type { PushOptions } from './options.js';

/**
 * Options of a push to several targets. `streams` applies to each target; 'auto' (the default)
 * is one channel each here, as the targets already share the link and this process.
 */
export interface FanOutOptions extends PushOptions {
  /**
   * At most this many connections at once (default 16). Targets beyond it wait for a free slot
   * and are then fed from a local temporary copy of the input, kept until all are done: ssh
   * reads that file itself unless compress or limitRate need the bytes to pass through node.
   */
  maxParallel?: number | undefined;
  /**
   * Authenticate the targets one at a time, and send data to all of them only then: ssh may
   * be asking for a password or a host key on the terminal, and N questions at once cannot be
   * answered. Targets beyond maxParallel take turns as well, as they start. Default: when
   * this process has a controlling terminal.
   */
  connectOneAtATime?: boolean | undefined;
  /**
   * Transforms between the local copy of the input and the waiting targets, where its bytes
   * pass through node (compress, limitRate or resume): a memory pacer, say. Made anew for
   * each group of targets.
   */
  spoolThrough?: (() => Duplex[]) | undefined;
}

/**
 * The channels of each target: one unless a number is asked for. The targets share the link and
 * this process already, and a waiting target must cost node no memory (ssh reads the spool).
 */
export function streamsPerTarget(options: PushOptions): number {
  return options.streams === 'auto' ? 1 : (options.streams ?? 1);
}

/** At most this many connections at once, unless the options say otherwise. */
export const DEFAULT_MAX_PARALLEL = 16;

/** The options' maxParallel, checked: a whole number from 1. */
export function maxParallelOf(options: FanOutOptions): number {
  const maxParallel = options.maxParallel ?? DEFAULT_MAX_PARALLEL;
  if (!Number.isInteger(maxParallel) || maxParallel < 1) {
    throw new UsageError(`max parallel must be a whole number >= 1, not ${maxParallel}`);
  }
  return maxParallel;
}
