import { type Duplex, PassThrough } from 'node:stream';
import pumpify from 'pumpify';

export * from './checksum.js';
export * from './compress.js';
export * from './progress.js';
export * from './throttle.js';

/** No stream: a PassThrough. */
export function chain(): PassThrough;
/** One stream: that same stream, unwrapped. */
export function chain<S extends Duplex>(stream: S): S;
/**
 * Composes transforms into one Duplex with pumpify: writes enter the first stream, reads come
 * from the last. The result is a pumpify stream (a duplexify Duplex, not one of Node's own
 * classes): an error in any stage destroys every stage and is emitted by the result, and
 * destroying the result destroys them all.
 */
export function chain(...streams: Duplex[]): Duplex;
export function chain(...streams: Duplex[]): Duplex {
  const [first] = streams;
  if (first === undefined) return new PassThrough();
  if (streams.length === 1) return first;
  return new pumpify(...streams);
}
