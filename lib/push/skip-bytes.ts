import { Transform, type TransformCallback } from 'node:stream';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { hashRange } from '../util/hash-range.js';

// On resume the remote side already holds the first `count` bytes: they are hashed locally
// with the rest but not sent again.
/** A Transform that drops the first `count` bytes and passes the rest through unchanged. */
export function createSkipBytes(count: number): Transform {
  let left = count;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (left === 0) return callback(null, chunk);
      if (chunk.length <= left) {
        left -= chunk.length;
        return callback();
      }
      const rest = chunk.subarray(left);
      left = 0;
      callback(null, rest);
    },
  });
}

/** Count and digest of the first `count` bytes of a local file (path or descriptor, read with pread). */
export async function hashPrefix(
  source: string | number,
  count: number,
  algorithm: Exclude<ChecksumAlgorithm, 'none'>,
): Promise<{ bytes: number; digest: string }> {
  const { bytes, hash } = await hashRange(source, algorithm, { end: count });
  return { bytes, digest: hash!.digest('hex') };
}
