import { createHash, type Hash } from 'node:crypto';
import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';

const pread = promisify(read);

/** Where hashRange reads: from `start` (default 0) to `end`, exclusive (default: the end). */
export interface ByteRange {
  start?: number | undefined;
  end?: number | undefined;
}

/**
 * Hashes bytes `range` of a local file, given as a path or a descriptor. A descriptor is read
 * with pread, so its own offset stays where it is (ssh may be reading from it). One buffer is
 * reused: no garbage per chunk. `hash` is undefined for `'none'` (only bytes are counted) and not
 * yet digested, so a caller may continue it. `stopped()` ends the loop early (the transfer
 * failed). A file shorter than the range gives fewer bytes, not an error.
 */
export async function hashRange(
  source: string | number,
  algorithm: ChecksumAlgorithm,
  range: ByteRange = {},
  stopped: () => boolean = () => false,
): Promise<{ bytes: number; hash: Hash | undefined }> {
  const { start = 0, end = Infinity } = range;
  const hash = algorithm === 'none' ? undefined : createHash(algorithm);
  const buffer = Buffer.allocUnsafe(1 << 20);
  const file = typeof source === 'number' ? undefined : await open(source, 'r');
  const readAt = (length: number, position: number) =>
    file
      ? file.read(buffer, 0, length, position)
      : pread(source as number, buffer, 0, length, position);
  let position = start;
  try {
    while (position < end && !stopped()) {
      const { bytesRead } = await readAt(Math.min(buffer.length, end - position), position);
      if (bytesRead === 0) break;
      hash?.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file?.close();
  }
  return { bytes: position - start, hash };
}

// How long hashGrowingFile waits at the end of what was written so far before reading again.
const FOLLOW_WAIT_MS = 20;

/**
 * Hashes the local file at `path` from byte `start` while a writer still appends to it, as
 * `tail -f` reads: at its end it waits for more until `written` settles, then reads to the new
 * end and stops. The hash then runs beside the transfer instead of after it. `stopped()` ends
 * it early (the transfer failed).
 */
export async function hashGrowingFile(
  path: string,
  algorithm: ChecksumAlgorithm,
  written: Promise<unknown>,
  stopped: () => boolean = () => false,
  start = 0,
): Promise<{ bytes: number; hash: Hash | undefined }> {
  let finished = false;
  const settled = written.then(
    () => (finished = true),
    () => (finished = true),
  );
  const hash = algorithm === 'none' ? undefined : createHash(algorithm);
  const buffer = Buffer.allocUnsafe(1 << 20);
  const file = await open(path, 'r');
  let position = start;
  try {
    while (!stopped()) {
      // Whatever was written before the writer settled is there to read after this point.
      const last = finished;
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        hash?.update(buffer.subarray(0, bytesRead));
        position += bytesRead;
      } else if (last) {
        break;
      } else {
        await Promise.race([settled, delay(FOLLOW_WAIT_MS)]);
      }
    }
  } finally {
    await file.close();
  }
  return { bytes: position - start, hash };
}
