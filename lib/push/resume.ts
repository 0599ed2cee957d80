import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { hashRange } from '../util/hash-range.js';
import type { PushInternals } from './options.js';
import { parseLanded, RANGE_ALIGNMENT, type Span } from './ranges-plan.js';

/**
 * How many bytes of the remote partial file (`partial` long) to keep: all of them when they
 * equal the same prefix of the input (re-read from `source`), else none (the file is
 * truncated and the push starts over).
 */
async function resumeOffset(
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
async function landedRanges(
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

/**
 * Where a push continues: nothing to skip unless it is resumable; a file read by offset resumes
 * range by range (see landedRanges), anything else from a verified prefix (see resumeOffset).
 */
export async function resumePoint(
  control: ControlConnection,
  resume: boolean | undefined,
  { direct, resumeSource }: PushInternals,
  algorithm: ChecksumAlgorithm,
): Promise<{ skip: number; landed: Span[] }> {
  if (!resume) return { skip: 0, landed: [] };
  const partial = Number(control.ready.fields[0] ?? 0);
  if (!direct) {
    return { skip: await resumeOffset(control, partial, resumeSource, algorithm), landed: [] };
  }
  const landed = await landedRanges(control, partial, resumeSource ?? direct.fd, algorithm);
  return { skip: landed.reduce((sum, span) => sum + span.length, 0), landed };
}
