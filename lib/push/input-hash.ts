import {
  createChecksum,
  type ChecksumAlgorithm,
  type ChecksumStream,
} from '../../transforms/checksum.js';
import type { LocalDigest } from './delivery.js';

/** The hash of the input as node passes it on: a stage to write through, and its result. */
export interface InputHash {
  readonly stream: ChecksumStream;
  result(): Promise<LocalDigest>;
}

/**
 * Hashes the input with `algorithm`, or only counts it when `digestSource` gives the digest
 * (a fan-out hashes its input once for all its targets).
 */
export function createInputHash(
  algorithm: ChecksumAlgorithm,
  digestSource?: () => Promise<string>,
): InputHash {
  const stream = createChecksum(digestSource ? 'none' : algorithm);
  return {
    stream,
    async result() {
      const { bytes } = await stream.result;
      return { bytes, digest: digestSource ? await digestSource() : stream.digest() };
    },
  };
}

/** Writes `chunk` into `stream`, calling back once it may take more. */
export function writeWithBackpressure(
  stream: ChecksumStream,
  chunk: Buffer,
  callback: (error?: Error | null) => void,
): void {
  if (stream.write(chunk)) callback();
  else stream.once('drain', () => callback());
}
