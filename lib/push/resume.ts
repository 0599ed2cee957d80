import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { hashRange } from '../util/hash-range.js';
import { parseLanded, RANGE_ALIGNMENT, type Span } from './ranges-plan.js';

/**
 * How many bytes of the remote partial file (`partial` long) to keep: all of them when they
 * equal the same prefix of the input (re-read from `source`), else none (the file is
 * truncated and the push starts over).
 */
export async function resumeOffset(
  control: ControlConnection,
  partial: number,
  source: string | number | undefined,
  algorithm: ChecksumAlgorithm,
): Promise<number> {
  if (partial <= 0) return 0;
  if (source !== undefined && algorithm !== 'none') {
    // The input's first `partial` bytes, re-read (pread for a descriptor: its offset stays).
    const [local, remote] = await Promise.all([
      hashRange(source, algorithm, { end: partial }),
      control.request('partial-sum', ['partial-sum']),
    ]);
    const [remoteBytes, remoteDigest] = remote.fields;
    if (
      local.bytes === partial &&
      remoteBytes === String(partial) &&
      remoteDigest === local.hash?.digest('hex')
    ) {
      return partial;
    }
  }
  await control.request('truncate', ['truncated']);
  return 0;
}

/**
 * What a resumed parallel push finds in the remote partial file: the ranges recorded as landed
 * whole, or else (a partial file left by a single-stream push) its prefix when it equals the
 * input's, cut back to whole ranges.
 */
export async function landedRanges(
  control: ControlConnection,
  partial: number,
  source: string | number,
  algorithm: ChecksumAlgorithm,
): Promise<Span[]> {
  const record = parseLanded((await control.request('ranges', ['ranges'])).fields[0]);
  if (record.length > 0) return record;
  const kept = await resumeOffset(control, partial, source, algorithm);
  const whole = Math.floor(kept / RANGE_ALIGNMENT) * RANGE_ALIGNMENT;
  return whole > 0 ? [{ offset: 0, length: whole }] : [];
}
