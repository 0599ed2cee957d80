import { fstatSync, readFileSync } from 'node:fs';
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

/** The current offset of descriptor `fd` (from /proc/self/fdinfo), where the system tells it. */
export function descriptorOffset(fd: number): number | undefined {
  try {
    const pos = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return pos ? Number(pos[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Size and modification time of `fd`, to tell whether a file changed while it was sent. */
export function fileStamp(fd: number): string {
  const stat = fstatSync(fd);
  return `${stat.size}:${stat.mtimeMs}`;
}

/**
 * Count and digest of `fd` from `start` to its end (see hashRange: pread, one reused buffer).
 * `stopped()` ends the loop early (the push failed).
 */
export async function hashFrom(
  fd: number,
  start: number,
  algorithm: ChecksumAlgorithm,
  stopped: () => boolean,
): Promise<{ bytes: number; digest: string }> {
  const { bytes, hash } = await hashRange(fd, algorithm, { start }, stopped);
  return { bytes, digest: hash?.digest('hex') ?? '' };
}
