/**
 * How many SSH channels carry one file: a count (1 turns parallel transfer off), or 'auto',
 * which picks from the measured round-trip time and the file size. Only an input or output that
 * can be addressed by offset (a regular file) travels in ranges; anything else uses one channel.
 */
export type Streams = number | 'auto';

/** The most channels a transfer opens. */
export const MAX_STREAMS = 16;
