import { createHash, type Hash } from 'node:crypto';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';

/**
 * The digest of a fan-out's input, hashed once here for every target (each target only counts
 * its bytes): a hash to update with each chunk, and the digest once the input has ended. A
 * `given` digest (a group of queued targets, fed from the spool) is used as it is.
 */
export function sharedDigest(
  algorithm: ChecksumAlgorithm,
  given: (() => Promise<string>) | undefined,
): { hash: Hash | undefined; digestSource: () => Promise<string> } {
  const hash = given || algorithm === 'none' ? undefined : createHash(algorithm);
  let digest: Promise<string> | undefined;
  const digestSource =
    given ?? (() => (digest ??= Promise.resolve(hash ? hash.digest('hex') : '')));
  return { hash, digestSource };
}
