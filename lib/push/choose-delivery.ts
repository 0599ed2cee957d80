import { fstatSync } from 'node:fs';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { Compression } from '../../transforms/compress.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { debug } from '../util/debug.js';
import { AUTO_MIN_BYTES, chooseStreams, pushLaneCap } from '../util/streams.js';
import type { ErrorContext } from '../util/errors.js';
import type { Target } from '../ssh/target.js';
import { AutoCompressDelivery } from './auto-compress.js';
import { startDataSession, type DataSession } from './data-session.js';
import type { Delivery, DeliveryEvents } from './delivery.js';
import { DirectDelivery } from './direct.js';
import { InlineDelivery } from './inline.js';
import { createInputHash } from './input-hash.js';
import type { PushInternals, PushOptions } from './options.js';
import { PipedDelivery } from './piped.js';
import { RangesDelivery } from './ranges.js';
import { laneCount, missingSpans, planJobs, type Span } from './ranges-plan.js';

/** What decides how a push's bytes travel, once the connection is up. */
export interface DeliveryChoice {
  control: ControlConnection;
  target: Target;
  options: PushOptions;
  internals: PushInternals;
  algorithm: ChecksumAlgorithm;
  context: ErrorContext;
  /** Bytes a resumed partial file already holds. */
  skip: number;
  /** What a resumed partial file holds of a direct input (see landedRanges). */
  landed: Span[];
  /** The data session started while the control script got ready, if any. */
  early: DataSession | undefined;
  /** The whole input is here already, and small enough to go inline. */
  small: boolean;
  events: DeliveryEvents;
}

/**
 * The lanes of a push whose count is known before it connects: a file read by offset, a count
 * the user gave (`auto` waits for the round trip), a connection of its own for each (not
 * `--single-connection`), and nothing to resume (what landed is only known once connected).
 * Their connections then open beside the master (ControlConnection.openExtras). Else 1.
 */
export function lanesBeforeConnecting(options: PushOptions, internals: PushInternals): number {
  const { direct } = internals;
  const requested = options.streams ?? 'auto';
  if (!direct || requested === 'auto' || options.singleConnection || options.resume) return 1;
  const size = fstatSync(direct.fd).size - direct.start;
  const streams = chooseStreams(undefined, size, requested);
  return laneCount(planJobs(missingSpans(size, []), streams), streams);
}

/**
 * Once the master has logged in: for a push whose lanes `auto` chooses (a file read by offset,
 * big enough for more than one, connections of its own, nothing to resume), opens their
 * connections at once after a long login (ControlConnection.openLanesAfterLongLogin).
 */
export function openLanesAfterLongLogin(
  control: ControlConnection,
  options: PushOptions,
  internals: PushInternals,
): void {
  const { direct } = internals;
  if (!direct || (options.streams ?? 'auto') !== 'auto') return;
  if (options.singleConnection || options.resume) return;
  const size = fstatSync(direct.fd).size - direct.start;
  if (size >= AUTO_MIN_BYTES) control.openLanesAfterLongLogin(size, pushLaneCap());
}

/**
 * Picks and starts the delivery: parallel ranges or direct (a file read by offset), inline,
 * auto-compressed or piped, in that order.
 */
export async function chooseDelivery(choice: DeliveryChoice): Promise<Delivery> {
  const { control, target, options, internals, algorithm, context, events } = choice;
  if (internals.direct) {
    const { direct, digestSource } = internals;
    const size = fstatSync(direct.fd).size - direct.start;
    const requested = options.streams ?? 'auto';
    const rtt =
      requested === 'auto' && size >= AUTO_MIN_BYTES ? await control.roundTrip() : undefined;
    const streams = chooseStreams(rtt, size, requested, pushLaneCap());
    // Those opened after a long login (openLanesAfterLongLogin), fitted to the lanes now chosen.
    if (rtt !== undefined) {
      control.keepExtras(laneCount(planJobs(missingSpans(size, choice.landed), streams), streams));
    }
    debug(
      `push: ${streams} channel(s)${rtt === undefined ? '' : `, round trip ${rtt.toFixed(1)} ms`}`,
    );
    // A resumable push goes in ranges even on one channel: they are what it resumes.
    if (streams > 1 || options.resume) {
      const { landed } = choice;
      const resume = options.resume === true;
      const params = { path: target.path, input: direct, streams, landed, resume, algorithm };
      const connections = options.singleConnection ? 1 : streams;
      return new RangesDelivery(control, { ...params, connections, digestSource, context }, events);
    }
    return DirectDelivery.start(
      control,
      target.path,
      direct,
      algorithm,
      digestSource,
      context,
      events,
    );
  }
  if (!choice.early && choice.small) {
    debug('push: small input, sent inline');
    return new InlineDelivery(control, createInputHash(algorithm, internals.digestSource));
  }
  const piped = (compress: Compression | undefined, level: number | undefined) => {
    const session = choice.early ?? startPushSession(choice, compress);
    const hash = createInputHash(algorithm, internals.digestSource);
    const { skip } = choice;
    const { limitRate } = options;
    const params = { algorithm, skip, compress, level, limitRate, context };
    return new PipedDelivery(session, hash, params, events);
  };
  // auto picks its format's default level: one level cannot suit both gzip and zstd.
  if (options.compress === 'auto')
    return new AutoCompressDelivery(control, (f) => piped(f, undefined));
  return piped(options.compress, options.compressLevel);
}

/** Starts the data session that a piped delivery feeds; it waits for our "go" line. */
export function startPushSession(
  {
    control,
    target,
    options,
    context,
  }: Pick<DeliveryChoice, 'control' | 'target' | 'options' | 'context'>,
  compress: Compression | undefined,
): DataSession {
  const args = [target.path, compress ?? '', options.resume ? '1' : '0'];
  return startDataSession(control, args, 'pipe', context);
}
