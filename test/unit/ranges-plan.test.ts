import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { missingSpans, parseLanded, planJobs } from '../../lib/push/ranges-plan.js';
import { chooseStreams, farLoginLanes, pushLaneCap } from '../../lib/util/streams.js';

const MiB = 1 << 20;

describe('parseLanded', () => {
  it('reads the control script record, and nothing from "-" or garbage', () => {
    assert.deepEqual(parseLanded('0:1048576,2097152:5,'), [
      { offset: 0, length: MiB },
      { offset: 2 * MiB, length: 5 },
    ]);
    assert.deepEqual(parseLanded('-'), []);
    assert.deepEqual(parseLanded(undefined), []);
    assert.deepEqual(parseLanded('x:1,3'), []);
  });
});

describe('missingSpans', () => {
  it('is the whole file when nothing landed, and nothing for an empty file', () => {
    assert.deepEqual(missingSpans(10, []), [{ offset: 0, length: 10 }]);
    assert.deepEqual(missingSpans(0, []), []);
  });

  it('leaves out what landed, in any order and overlapping', () => {
    const landed = [
      { offset: 4 * MiB, length: MiB },
      { offset: 0, length: 2 * MiB },
      { offset: MiB, length: MiB },
    ];
    assert.deepEqual(missingSpans(6 * MiB + 1, landed), [
      { offset: 2 * MiB, length: 2 * MiB },
      { offset: 5 * MiB, length: MiB + 1 },
    ]);
  });

  it('ignores a record beyond the end of the file', () => {
    assert.deepEqual(missingSpans(MiB, [{ offset: 2 * MiB, length: MiB }]), [
      { offset: 0, length: MiB },
    ]);
  });
});

describe('planJobs', () => {
  it('cuts one span into even whole-MiB shares, the last taking the rest', () => {
    assert.deepEqual(planJobs([{ offset: 0, length: 5 * MiB + 123 }], 4), [
      { offset: 0, length: 2 * MiB },
      { offset: 2 * MiB, length: 2 * MiB },
      { offset: 4 * MiB, length: MiB + 123 },
    ]);
  });

  it('never cuts below 1 MiB, and every job starts on a MiB', () => {
    const jobs = planJobs([{ offset: 3 * MiB, length: 2 * MiB + 7 }], 16);
    assert.equal(jobs.length, 3);
    for (const job of jobs) assert.equal(job.offset % MiB, 0);
    assert.equal(
      jobs.reduce((sum, job) => sum + job.length, 0),
      2 * MiB + 7,
    );
  });

  it('has no job for nothing missing', () => {
    assert.deepEqual(planJobs([], 4), []);
  });
});

describe('chooseStreams', () => {
  it('takes a requested count, but no range under 1 MiB', () => {
    assert.equal(chooseStreams(undefined, 100 * MiB, 4), 4);
    assert.equal(chooseStreams(0.1, 100 * MiB, 16), 16);
    assert.equal(chooseStreams(undefined, 3 * MiB - 1, 8), 3);
    assert.equal(chooseStreams(undefined, 1, 8), 1);
    assert.equal(chooseStreams(undefined, 0, 8), 1);
  });

  it('auto: one channel on a LAN, for a file under 64 MiB, or without a measurement', () => {
    assert.equal(chooseStreams(0.3, 1 << 30, 'auto', 8), 1);
    assert.equal(chooseStreams(11.9, 1 << 30, 'auto', 8), 1);
    assert.equal(chooseStreams(100, 64 * MiB - 1, 'auto', 8), 1);
    assert.equal(chooseStreams(undefined, 1 << 30, 'auto', 8), 1);
  });

  it('auto: more lanes the longer the round trip, at most 8, at least 32 MiB each', () => {
    assert.equal(chooseStreams(12, 1 << 30, 'auto', 8), 2);
    assert.equal(chooseStreams(20, 1 << 30, 'auto', 8), 2);
    assert.equal(chooseStreams(30, 1 << 30, 'auto', 8), 2);
    assert.equal(chooseStreams(50, 1 << 30, 'auto', 8), 4);
    assert.equal(chooseStreams(100, 1 << 30, 'auto', 8), 8);
    assert.equal(chooseStreams(300, 1 << 30, 'auto', 8), 8);
    assert.equal(chooseStreams(100, 64 * MiB, 'auto', 8), 2);
    assert.equal(chooseStreams(100, 200 * MiB, 'auto', 8), 6);
  });

  it('auto: a push takes two lanes per core of this machine, at least 4, at most 8', () => {
    assert.equal(pushLaneCap(8), 8);
    assert.equal(pushLaneCap(3), 6);
    assert.equal(pushLaneCap(2), 4);
    assert.equal(pushLaneCap(1), 4);
    assert.equal(chooseStreams(100, 1 << 30, 'auto', pushLaneCap(2)), 4);
    assert.equal(chooseStreams(100, 1 << 30, 'auto', pushLaneCap(1)), 4);
    assert.equal(chooseStreams(50, 1 << 30, 'auto', pushLaneCap(1)), 4);
    assert.equal(chooseStreams(100, 1 << 30, 'auto', pushLaneCap(64)), 8);
  });

  it('auto: a pull (no cap given) takes up to 8 lanes whatever the cores', () => {
    assert.equal(chooseStreams(100, 1 << 30, 'auto'), 8);
    assert.equal(chooseStreams(50, 1 << 30, 'auto'), 4);
  });
});

describe('farLoginLanes', () => {
  it('none after a login as quick as loopback or a LAN, or one that likely waited for a person', () => {
    assert.equal(farLoginLanes(240, 1 << 30, 4), 1);
    assert.equal(farLoginLanes(375, 1 << 30, 4), 1); // 20 ms
    assert.equal(farLoginLanes(499, 1 << 30, 4), 1);
    assert.equal(farLoginLanes(3001, 1 << 30, 4), 1);
    assert.equal(farLoginLanes(20_000, 1 << 30, 4), 1);
  });

  it('after a long login, the lanes of the round trip it suggests, within the cap and size', () => {
    assert.equal(farLoginLanes(500, 1 << 30, 8), 3);
    assert.equal(farLoginLanes(634, 1 << 30, 8), 4); // 50 ms
    assert.equal(farLoginLanes(1090, 1 << 30, 8), 7); // 100 ms
    assert.equal(farLoginLanes(1090, 1 << 30, 4), 4);
    assert.equal(farLoginLanes(1090, 100 * MiB, 4), 3);
    assert.equal(farLoginLanes(1090, 64 * MiB - 1, 4), 1);
  });
});
