// The CLI's memory pacer: data passes unchanged, and spent chunk Buffers are collected as the
// transfer goes instead of piling up (see lib/cli/memory-pacer.ts).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { MemoryPacer } from '../../lib/cli/memory-pacer.js';

const CHUNK = 64 * 1024;

// A source of `total` bytes in fresh 64 KiB Buffers, like a file or socket read stream.
function source(total: number, seed: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const chunk = Buffer.allocUnsafe(CHUNK);
      seed.copy(chunk, 0, (sent / CHUNK) % 16);
      sent += CHUNK;
      this.push(chunk);
    },
  });
}

describe('MemoryPacer', () => {
  it('passes every byte through unchanged, in order', async () => {
    const data = randomBytes(3 * CHUNK + 123);
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([data.subarray(0, 100), data.subarray(100, 70_000), data.subarray(70_000)]),
      new MemoryPacer(1000),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out.push(chunk);
          callback();
        },
      }),
    );
    assert.equal(
      createHash('md5').update(Buffer.concat(out)).digest('hex'),
      createHash('md5').update(data).digest('hex'),
    );
  });

  it('keeps spent chunk buffers under 16 MiB while 512 MiB stream through', async () => {
    let peak = 0;
    let seen = 0;
    await pipeline(
      source(512 << 20, randomBytes(CHUNK)),
      new MemoryPacer(),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          seen += chunk.length;
          if (seen % (1 << 20) === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
          callback();
        },
      }),
    );
    assert.equal(seen, 512 << 20);
    assert.ok(peak < 16 << 20, `peak arrayBuffers ${(peak / 1048576).toFixed(1)} MiB`);
  });
});
