/** A span of the file: `length` bytes from `offset` (relative to the start of the input). */
export interface Span {
  offset: number;
  length: number;
}

/** Ranges start at multiples of this: the remote dd seeks in whole blocks of it. */
export const RANGE_ALIGNMENT = 1 << 20;

/**
 * Parses the control script's record of ranges that landed whole ("OFFSET:LENGTH,..." or "-").
 * Anything unreadable counts as not landed: it is sent again, and the commit verifies all.
 */
export function parseLanded(field: string | undefined): Span[] {
  if (!field || field === '-') return [];
  const spans: Span[] = [];
  for (const item of field.split(',')) {
    const match = /^(\d+):(\d+)$/.exec(item);
    if (match) spans.push({ offset: Number(match[1]), length: Number(match[2]) });
  }
  return spans;
}

/** The parts of [0, size) that no span of `landed` covers, in order. */
export function missingSpans(size: number, landed: readonly Span[]): Span[] {
  const sorted = [...landed].sort((a, b) => a.offset - b.offset);
  const missing: Span[] = [];
  let at = 0;
  for (const { offset, length } of sorted) {
    if (offset > at) missing.push({ offset: at, length: Math.min(offset, size) - at });
    at = Math.max(at, offset + length);
    if (at >= size) break;
  }
  if (at < size) missing.push({ offset: at, length: size - at });
  return missing.filter((span) => span.length > 0);
}

/**
 * Cuts `missing` into jobs for `streams` channels: pieces of about an even share of the missing
 * bytes, each starting at a multiple of RANGE_ALIGNMENT (missing spans start at 0 or where an
 * aligned range ended). There may be a few more jobs than channels; they then queue.
 */
export function planJobs(missing: readonly Span[], streams: number): Span[] {
  const total = missing.reduce((sum, span) => sum + span.length, 0);
  const share = Math.ceil(total / Math.max(1, streams) / RANGE_ALIGNMENT) * RANGE_ALIGNMENT;
  const piece = Math.max(RANGE_ALIGNMENT, share);
  const jobs: Span[] = [];
  for (const { offset, length } of missing) {
    for (let at = offset; at < offset + length; at += piece) {
      jobs.push({ offset: at, length: Math.min(piece, offset + length - at) });
    }
  }
  return jobs;
}

/** Lanes that carry `jobs` on up to `streams`: no more than ranges (an idle lane costs a login). */
export const laneCount = (jobs: readonly Span[], streams: number): number =>
  Math.max(1, Math.min(streams, jobs.length));
