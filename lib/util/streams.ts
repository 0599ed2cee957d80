/**
 * How many SSH channels carry one file: a count (1 turns parallel transfer off), or 'auto',
 * which picks from the measured round-trip time and the file size. Only an input or output that
 * can be addressed by offset (a regular file) travels in ranges; anything else uses one channel.
 */
export type Streams = number | 'auto';

/** The most channels a transfer opens. */
export const MAX_STREAMS = 16;

const MIB = 1024 * 1024;

/**
 * How many channels carry a file of `bytes` over a link of round-trip time `rttMs`. A number
 * requested wins. 'auto' gives 1 on a LAN or for a small file (a channel's 2 MiB window is
 * not the limit there, and every extra session costs a round trip), else about one channel per
 * 12.5 ms of round trip (2 to 8), and never more channels than 4 MiB pieces of the file.
 */
export function chooseStreams(rttMs: number, bytes: number, requested: Streams): number {
  if (requested !== 'auto') return Math.max(1, Math.min(MAX_STREAMS, Math.floor(requested)));
  if (bytes < 16 * MIB || rttMs < 10) return 1;
  const byRtt = Math.min(8, Math.max(2, Math.round(rttMs / 12.5)));
  return Math.max(1, Math.min(byRtt, Math.floor(bytes / (4 * MIB))));
}
