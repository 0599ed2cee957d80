/**
 * How many SSH channels carry one file: a count (1 turns parallel transfer off), or 'auto',
 * which picks from the measured round-trip time and the file size. Only an input or output that
 * can be addressed by offset (a regular file) travels in ranges; anything else uses one channel.
 */
export type Streams = number | 'auto';

/** The most channels a transfer opens. */
export const MAX_STREAMS = 16;

const MiB = 1 << 20;
/** Below this size a transfer keeps to one channel unless told otherwise: the gain is small. */
export const AUTO_MIN_BYTES = 16 * MiB;
/**
 * Below this round-trip time one channel's window (2 MiB per round trip: 80 MiB/s at 25 ms)
 * outruns most links, and ranges only cost more CPU (measured at 20 ms through the WAN bench's
 * delay proxy: a push on 1 channel 34 MiB/s, on 2 28 MiB/s).
 */
const AUTO_MIN_RTT_MS = 25;
/** Each range of an automatic choice carries at least this much. */
const AUTO_MIN_RANGE = 4 * MiB;

/**
 * How many channels to use for `bytes` at a round-trip time of `rttMs`: a requested count wins
 * (but no range is smaller than 1 MiB, the alignment of ranges); 'auto' keeps one below 25 ms
 * or for a small file, and otherwise takes a channel per 12.5 ms of round trip (25 ms: 2,
 * 50 ms: 4, 100 ms: 8), each carrying at least 4 MiB.
 */
export function chooseStreams(
  rttMs: number | undefined,
  bytes: number,
  requested: Streams,
): number {
  const most = (rangeBytes: number) => Math.max(1, Math.ceil(bytes / rangeBytes));
  if (requested !== 'auto') return Math.min(requested, most(MiB));
  if (rttMs === undefined || bytes < AUTO_MIN_BYTES || rttMs < AUTO_MIN_RTT_MS) return 1;
  const wanted = Math.min(8, Math.max(2, Math.round(rttMs / 12.5)));
  return Math.min(wanted, Math.floor(bytes / AUTO_MIN_RANGE));
}
