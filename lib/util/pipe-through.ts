import type { Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * `pipeline(source, ...stages, destination)` for stages known only at run time (the typings of
 * the spread form want a fixed tuple). Settles once every stream has finished or the first error
 * has destroyed them all.
 */
export function pipeThrough(
  source: Readable,
  stages: readonly Duplex[],
  destination: Writable,
): Promise<void> {
  return pipeline([source, ...stages, destination]);
}
