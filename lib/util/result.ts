import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { Compression } from '../../transforms/compress.js';

/** What a verified transfer (push or pull) reports. */
export interface TransferResult {
  /** The target (push) or source (pull) as given. */
  target: string;
  /** Bytes of the file (uncompressed). */
  bytes: number;
  /** The checksum algorithm used. */
  algorithm: ChecksumAlgorithm;
  /** Hex digest, equal on both ends ('' for 'none'). */
  digest: string;
  /** The md5 digest, when the algorithm is md5. */
  md5?: string;
  /** Wall time from connecting to the commit, in seconds. */
  seconds: number;
  /** Always true: a result exists only after verification. */
  verified: true;
  /** Compression used on the wire, if any. */
  compress?: Compression;
  /** Bytes the other side already had from an earlier resumable transfer, not sent again. */
  resumed: number;
}

/** Builds the result of a verified transfer that started at `started` (performance.now()). */
export function verifiedResult(fields: {
  target: string;
  bytes: number;
  algorithm: ChecksumAlgorithm;
  digest: string;
  started: number;
  compress: Compression | undefined;
  resumed: number;
}): TransferResult {
  const { target, bytes, algorithm, digest, started, compress, resumed } = fields;
  return {
    target,
    bytes,
    algorithm,
    digest,
    ...(algorithm === 'md5' ? { md5: digest } : {}),
    seconds: (performance.now() - started) / 1000,
    verified: true,
    ...(compress ? { compress } : {}),
    resumed,
  };
}
