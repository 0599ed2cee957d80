/** The unit range boundaries are aligned to: dd on the remote side reads in blocks of it. */
export const RANGE_BLOCK = 1024 * 1024;

/** One contiguous piece of a file: bytes `start` to `end`, exclusive. */
export interface ByteSpan {
  start: number;
  end: number;
}

/**
 * Cuts a file of `size` bytes into at most `count` contiguous ranges of whole 1 MiB blocks (the
 * last may end short), as even as the blocks allow: never more ranges than blocks, and always
 * at least one (an empty file is one empty range).
 */
export function planRanges(size: number, count: number): ByteSpan[] {
  const blocks = Math.ceil(size / RANGE_BLOCK);
  const n = Math.max(1, Math.min(Math.floor(count), blocks));
  const each = Math.floor(blocks / n);
  const spans: ByteSpan[] = [];
  let block = 0;
  for (let i = 0; i < n; i++) {
    const length = each + (i < blocks % n ? 1 : 0);
    spans.push({
      start: block * RANGE_BLOCK,
      end: Math.min(size, (block + length) * RANGE_BLOCK),
    });
    block += length;
  }
  return spans;
}
