// How a pull cuts the file into ranges (planRanges), and where a resumed range starts
// (resumePoint). How many channels (chooseStreams): see ranges-plan.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRanges, RANGE_BLOCK } from '../../lib/pull/range-plan.js';
import { resumePoint } from '../../lib/pull/range-record.js';

const MIB = 1024 * 1024;

describe('planRanges', () => {
  const covers = (size: number, count: number) => {
    const spans = planRanges(size, count);
    assert.equal(spans[0]!.start, 0);
    assert.equal(spans.at(-1)!.end, size);
    spans.forEach((span, i) => {
      assert.equal(span.start % RANGE_BLOCK, 0, 'aligned to 1 MiB');
      if (i > 0) assert.equal(span.start, spans[i - 1]!.end, 'contiguous');
    });
    return spans;
  };

  it('cuts whole 1 MiB blocks, as even as they allow, the last one short', () => {
    const spans = covers(5 * MIB + 123, 4);
    assert.deepEqual(
      spans.map((span) => span.end - span.start),
      [2 * MIB, 2 * MIB, MIB, 123],
    );
  });

  it('never more ranges than blocks; an empty file is one empty range', () => {
    assert.equal(covers(MIB + 1, 8).length, 2);
    assert.equal(covers(MIB, 8).length, 1);
    assert.equal(covers(1, 4).length, 1);
    assert.deepEqual(planRanges(0, 4), [{ start: 0, end: 0 }]);
  });
});

describe('resumePoint', () => {
  const span = { start: 2 * MIB, end: 4 * MIB + 10 };

  it('starts after the whole blocks that landed at the start of the range', () => {
    assert.equal(resumePoint(span, []), 2 * MIB);
    assert.equal(resumePoint(span, [{ start: 0, end: 3 * MIB + 5 }]), 3 * MIB);
    assert.equal(resumePoint(span, [{ start: 0, end: 4 * MIB }]), 4 * MIB);
  });

  it('skips a range that landed whole, joining adjacent pieces', () => {
    const pieces = [
      { start: 3 * MIB, end: 5 * MIB },
      { start: 2 * MIB, end: 3 * MIB },
    ];
    assert.equal(resumePoint(span, pieces), span.end);
  });

  it('ignores pieces that do not reach the start of the range', () => {
    assert.equal(resumePoint(span, [{ start: 2 * MIB + 1, end: 5 * MIB }]), 2 * MIB);
  });
});
