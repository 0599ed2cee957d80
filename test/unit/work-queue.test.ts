// runLanes: lanes the server refuses a session give their job back and retire; the transfer
// ends on the lanes left, and fails with the refusal only when no lane is left to carry a job.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runLanes, type LaneWork } from '../../lib/util/work-queue.js';

const refusal = new Error('the server allows no further session on one connection');
const tick = () => new Promise((resolve) => setImmediate(resolve));

// Lanes listed in `refused` are refused every session; the others carry each job after a tick.
function lanes(refused: ReadonlySet<number>): {
  work: LaneWork<number, number>;
  carried: Map<number, number>;
} {
  const carried = new Map<number, number>();
  const work: LaneWork<number, number> = {
    ready: (lane) => Promise.resolve(lane),
    carry: async (job, lane) => {
      await tick();
      if (refused.has(lane)) return refusal;
      carried.set(job, lane);
      return undefined;
    },
    stopped: () => false,
  };
  return { work, carried };
}

describe('runLanes', () => {
  it('carries every job on the lanes allowed when others are refused', async () => {
    const { work, carried } = lanes(new Set([1, 3, 4, 5]));
    await runLanes('test', [0, 1, 2, 3, 4, 5], 6, work);
    assert.deepEqual([...carried.keys()].sort(), [0, 1, 2, 3, 4, 5]);
    assert.ok([...carried.values()].every((lane) => lane === 0 || lane === 2));
  });

  it('a job given back after the other lanes found the queue empty is still carried', async () => {
    const { work, carried } = lanes(new Set([1]));
    // Lane 1 is refused only after lane 0 has taken and carried the last job it could see.
    const slow: LaneWork<number, number> = {
      ...work,
      carry: async (job, lane, ...rest) => {
        if (lane === 1) for (let i = 0; i < 5; i++) await tick();
        return work.carry(job, lane, ...rest);
      },
    };
    await runLanes('test', [0, 1], 2, slow);
    assert.deepEqual(
      carried,
      new Map([
        [0, 0],
        [1, 0],
      ]),
    );
  });

  it('rejects with the refusal when no lane can have a session', async () => {
    const { work, carried } = lanes(new Set([0, 1, 2]));
    await assert.rejects(runLanes('test', [0, 1, 2, 3], 3, work), refusal);
    assert.equal(carried.size, 0);
  });

  it('the last lane refused after a session was had tries again', async () => {
    let refusals = 1;
    const carried: number[] = [];
    const work: LaneWork<number, number> = {
      ready: (lane) => Promise.resolve(lane),
      carry: async (job) => {
        await tick();
        if (job === 1 && refusals-- > 0) return refusal;
        carried.push(job);
        return undefined;
      },
      stopped: () => false,
    };
    await runLanes('test', [0, 1, 2], 1, work);
    assert.deepEqual(carried, [0, 1, 2]);
  });

  it('any other failure rejects at once and hands out no further job', async () => {
    const failure = new Error('remote side failed');
    const taken: number[] = [];
    const work: LaneWork<number, number> = {
      ready: (lane) => Promise.resolve(lane),
      carry: async (job) => {
        taken.push(job);
        await tick();
        if (job === 0) throw failure;
        return undefined;
      },
      stopped: () => false,
    };
    await assert.rejects(runLanes('test', [0, 1, 2, 3, 4], 2, work), failure);
    await tick();
    await tick();
    assert.deepEqual(taken.sort(), [0, 1]);
  });
});
