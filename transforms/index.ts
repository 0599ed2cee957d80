import { type Duplex, PassThrough } from 'node:stream';
import pumpify from 'pumpify';

export * from './checksum.js';
export * from './compress.js';
export * from './progress.js';
export * from './throttle.js';

/**
 * Composes transforms into one Duplex (writes enter the first, reads come from the last); an error
 * in any stage destroys them all and is emitted by the result. One stream is returned as is, none
 * gives a PassThrough.
 */
export const chain = (...streams: Duplex[]): Duplex => {
  const [first] = streams;
  if (first === undefined) {
    return new PassThrough();
  }
  if (streams.length === 1) {
    return first;
  }
  return new pumpify(...streams);
};
