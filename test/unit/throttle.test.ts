import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { type ThrottleStream, createThrottle } from '../../transforms/throttle.js';

const KiB = 1024;
const MiB = 1024 * 1024;

// Timing assertions are lower bounds only: a shared, noisy machine can always be slower.
const timedRun = async (data: Buffer, chunkSize: number, throttle: ThrottleStream) => {
  const chunks: Buffer[] = [];
  const pieces = function* () {
    for (let offset = 0; offset < data.length; offset += chunkSize) {
      yield data.subarray(offset, offset + chunkSize);
    }
  };
  const started = performance.now();
  await pipeline(Readable.from(pieces()), throttle, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      chunks.push(chunk);
    }
  });
  return { seconds: (performance.now() - started) / 1000, chunks, output: Buffer.concat(chunks) };
};

describe('createThrottle', () => {
  test(
    '2 MiB at 4 MiB/s takes at least 0.4 s and arrives intact',
    { timeout: 30_000 },
    async () => {
      const data = randomBytes(2 * MiB);
      const { seconds, output } = await timedRun(data, 64 * KiB, createThrottle(4 * MiB));
      assert.ok(seconds >= 0.4, `took ${seconds.toFixed(3)} s`);
      assert.ok(output.equals(data));
    },
  );

  test(
    'a low rate is honoured too: 20 KiB at 40 KiB/s takes at least 0.4 s',
    { timeout: 30_000 },
    async () => {
      const data = randomBytes(20 * KiB);
      const { seconds, output } = await timedRun(data, 16 * KiB, createThrottle(40 * KiB));
      assert.ok(seconds >= 0.4, `took ${seconds.toFixed(3)} s`);
      assert.ok(output.equals(data));
    },
  );

  test(
    'a chunk bigger than the burst is split into views of the same memory',
    { timeout: 30_000 },
    async () => {
      const data = randomBytes(1 * MiB);
      const throttle = createThrottle(64 * MiB, { burst: 64 * KiB });
      const { chunks, output } = await timedRun(data, data.length, throttle);
      assert.ok(chunks.length >= 16, `${chunks.length} pieces`);
      for (const chunk of chunks) {
        assert.ok(chunk.length <= 64 * KiB, `piece of ${chunk.length} bytes`);
        assert.equal(chunk.buffer, data.buffer, 'a subarray, not a copy');
      }
      assert.ok(output.equals(data));
    },
  );

  test('defaults the burst to max(16 KiB, rate / 10)', () => {
    assert.equal(createThrottle(10 * KiB).burst, 16 * KiB);
    assert.equal(createThrottle(100 * MiB).burst, 10 * MiB);
    assert.equal(createThrottle(1 * MiB, { burst: 4096 }).burst, 4096);
  });

  test('respects backpressure: an unread throttle stops accepting writes', async () => {
    const throttle = createThrottle(1024 * MiB);
    let written = 0;
    while (throttle.write(Buffer.alloc(64 * KiB)) && written < 64 * MiB) {
      written += 64 * KiB;
      await sleep(0);
    }
    assert.ok(written < 4 * MiB, `accepted ${written} bytes without a reader`);
    throttle.destroy();
  });

  test('destroy() clears the pending timer and stops output', { timeout: 10_000 }, async () => {
    const throttle = createThrottle(1 * KiB, { burst: 1 });
    let received = 0;
    throttle.on('data', (chunk: Buffer) => (received += chunk.length));
    throttle.on('error', () => {});
    throttle.write(Buffer.alloc(100 * KiB));
    await sleep(30);
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    throttle.destroy();
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(timersAfter, timersBefore - 1);
    const receivedAtDestroy = received;
    await sleep(50);
    assert.equal(received, receivedAtDestroy);
    assert.ok(received < 100 * KiB);
  });

  test('a bad rate or burst is a RangeError', () => {
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => createThrottle(rate), RangeError);
    }
    assert.throws(() => createThrottle(1024, { burst: 0 }), RangeError);
  });
});
