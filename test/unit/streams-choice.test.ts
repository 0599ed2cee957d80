// How many channels carry a file: the rule shared by push and pull (chooseStreams), how a pull
// cuts the file into ranges (planRanges), and where a resumed range starts (resumePoint).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRanges, RANGE_BLOCK } from '../../lib/pull/range-plan.js';
import { resumePoint } from '../../lib/pull/range-record.js';
import { chooseStreams } from '../../lib/util/streams.js';

const MIB = 1024 * 1024;

describe('chooseStreams', () => {
  it('a requested number wins, whatever the link and the size', () => {
    assert.equal(chooseStreams(0.5, 10, 4), 4);
    assert.equal(chooseStreams(200, 1 << 30, 1), 1);
  });

  it('auto: 1 on a short link or for a file under 16 MiB', () => {
    assert.equal(chooseStreams(9.9, 1 << 30, 'auto'), 1);
    assert.equal(chooseStreams(100, 16 * MIB - 1, 'auto'), 1);
  });

  it('auto: one channel per 12.5 ms of round trip, 2 to 8', () => {
    assert.equal(chooseStreams(10, 1 << 30, 'auto'), 2);
    assert.equal(chooseStreams(50, 1 << 30, 'auto'), 4);
    assert.equal(chooseStreams(100, 1 << 30, 'auto'), 8);
    assert.equal(chooseStreams(400, 1 << 30, 'auto'), 8);
  });

  it('auto: never more channels than 4 MiB pieces', () => {
    assert.equal(chooseStreams(100, 16 * MIB, 'auto'), 4);
    assert.equal(chooseStreams(100, 20 * MIB - 1, 'auto'), 4);
    assert.equal(chooseStreams(100, 28 * MIB, 'auto'), 7);
  });
});

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
