import { fstatSync } from 'node:fs';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { hashRange } from '../util/hash-range.js';

/**
 * A push input that ssh reads by itself: a descriptor of a regular file, from `start` (its
 * current offset). No byte then passes through node on its way out; the local hash reads the
 * same range with pread, which leaves the descriptor's offset to ssh.
 */
export interface DirectInput {
  fd: number;
  start: number;
}

/** Size and modification time of `fd`, to tell whether a file changed while it was sent. */
export function fileStamp(fd: number): string {
  const stat = fstatSync(fd);
  return `${stat.size}:${stat.mtimeMs}`;
}

/**
 * Count and digest of `direct` from its start to its end: hashed (hashRange: pread, one reused
 * buffer; `stopped()` ends it early when the push failed), or, when
 * `digestSource` gives the digest already (a fan-out's local copy of its input, hashed as it
 * came in), only counted (its size), so that the copy is checked against the input itself.
 */
export async function digestOfDirect(
  direct: DirectInput,
  algorithm: ChecksumAlgorithm,
  digestSource: (() => Promise<string>) | undefined,
  stopped: () => boolean,
): Promise<{ bytes: number; digest: string }> {
  if (!digestSource) {
    const { bytes, hash } = await hashRange(direct.fd, algorithm, { start: direct.start }, stopped);
    return { bytes, digest: hash?.digest('hex') ?? '' };
  }
  const bytes = fstatSync(direct.fd).size - direct.start;
  return { bytes, digest: await digestSource() };
}
