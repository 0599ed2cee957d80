// createDeferred: a promise settled from outside, whose rejection never goes unhandled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeferred } from '../../lib/util/deferred.js';

describe('createDeferred', () => {
  it('resolves with the value given, once', async () => {
    const deferred = createDeferred<number>();
    deferred.resolve(7);
    deferred.resolve(8);
    deferred.reject(new Error('late'));
    assert.equal(await deferred.promise, 7);
  });

  it('rejects with the error given', async () => {
    const deferred = createDeferred<number>();
    const error = new Error('lost');
    deferred.reject(error);
    await assert.rejects(deferred.promise, (thrown) => thrown === error);
  });

  it('a rejection nobody awaits is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      createDeferred<void>().reject(new Error('nobody listens'));
      // Unhandled rejections are reported after the microtask queue drains.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', listener);
    }
    assert.deepEqual(unhandled, []);
  });
});
