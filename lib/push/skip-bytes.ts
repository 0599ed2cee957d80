import { Transform, type TransformCallback } from 'node:stream';

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
