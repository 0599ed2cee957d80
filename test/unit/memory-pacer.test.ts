// The CLI's memory pacer: data passes unchanged, and spent chunk Buffers are collected as the
// transfer goes instead of piling up (see lib/cli/memory-pacer.ts), without glibc handing the
// freed memory back to the system each time (lib/cli/malloc-trim.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MemoryPacer } from '../../lib/cli/memory-pacer.js';
import { findExecutable } from '../../transforms/which.js';
import { skipOrFail } from '../helpers/prerequisites.js';

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

  // In a node of its own under strace: 128 MiB in fresh 64 KiB Buffers through the pacer. Each
  // GC frees about 4 MiB of them; under glibc's first trim threshold (128 KiB) the heap gave
  // that back to the system and grew again each time (11 to 13 times per 64 MiB here).
  it('keeps the memory it frees for the next chunks: the heap is not trimmed at each GC', async (t) => {
    const strace = findExecutable('strace');
    if (!strace) return skipOrFail(t, 'strace is not installed');
    const dir = await mkdtemp(join(tmpdir(), 'sshstream-pacer-'));
    try {
      const log = join(dir, 'brk.log');
      const script = `
        import { Readable, Writable } from 'node:stream';
        import { pipeline } from 'node:stream/promises';
        import { MemoryPacer } from ${JSON.stringify(PACER)};
        let sent = 0;
        await pipeline(
          new Readable({ read() {
            if (sent >= ${128 << 20}) return this.push(null);
            sent += ${CHUNK};
            this.push(Buffer.alloc(${CHUNK}, 1));
          } }),
          new MemoryPacer(),
          new Writable({ write(chunk, encoding, callback) { callback(); } }),
        );`;
      await promisify(execFile)(strace, [
        '-f',
        '-qq',
        '-e',
        'trace=brk',
        '-o',
        log,
        process.execPath,
        '--input-type=module',
        '-e',
        script,
      ]);
      const shrinks = heapShrinks(await readFile(log, 'utf8'));
      assert.ok(shrinks <= 3, `the heap shrank ${shrinks} times`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const PACER = new URL('../../lib/cli/memory-pacer.js', import.meta.url).href;

// In an strace log of brk calls: how many moved the end of the heap down (glibc trimming it).
function heapShrinks(log: string): number {
  let end: bigint | undefined;
  let shrinks = 0;
  for (const [, asked, got] of log.matchAll(/brk\((0x[0-9a-f]+|NULL)\)\s*=\s*(0x[0-9a-f]+)/g)) {
    if (asked !== 'NULL' && end !== undefined && BigInt(asked!) < end) shrinks++;
    end = BigInt(got!);
  }
  return shrinks;
}
