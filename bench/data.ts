import { randomFillSync } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sizeLabel } from './args.js';

const CHUNK = 4 << 20;

// Writes `size` bytes produced chunk by chunk; `fill` fills (part of) the buffer it is given.
async function writeGenerated(
  path: string,
  size: number,
  fill: (buffer: Buffer) => Buffer,
): Promise<void> {
  const file = await open(path, 'wx');
  try {
    let written = 0;
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (written < size) {
      const chunk = fill(buffer.subarray(0, Math.min(CHUNK, size - written)));
      await file.write(chunk);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
}

/** Incompressible data: fresh random bytes throughout (no repeated blocks for zstd to find). */
export async function makeRandomFile(dir: string, size: number): Promise<string> {
  const path = join(dir, `random-${sizeLabel(size)}`);
  if ((await stat(path).catch(() => undefined))?.size === size) return path;
  await writeGenerated(path, size, (buffer) => randomFillSync(buffer));
  return path;
}

// xorshift32: a fast deterministic generator, enough to vary numbers in log lines.
function createRandom(seed: number): (limit: number) => number {
  let state = seed >>> 0 || 1;
  return (limit) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % limit;
  };
}

const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/orders/', '/api/v1/users/', '/api/v2/items/', '/static/img/', '/health/'];
const STATUSES = [200, 200, 200, 200, 201, 204, 304, 404, 500];

/** Compressible text: log-like lines whose timestamps, ids, sizes and durations vary. */
function createLogLines(seed = 42): (buffer: Buffer) => Buffer {
  const random = createRandom(seed);
  let clock = Date.UTC(2025, 0, 15, 8, 0, 0);
  let carry = '';
  return (buffer) => {
    let text = carry;
    while (text.length < buffer.length) {
      clock += random(40);
      const id = random(0x7fffffff).toString(16).padStart(8, '0');
      text +=
        `${new Date(clock).toISOString()} ${LEVELS[random(LEVELS.length)]} web-${random(8)} ` +
        `${METHODS[random(METHODS.length)]} ${PATHS[random(PATHS.length)]}${random(100000)} ` +
        `${STATUSES[random(STATUSES.length)]} ${random(65536)}B ${random(5000) / 10}ms ` +
        `req=${id} user=u${random(20000)}\n`;
    }
    carry = text.slice(buffer.length);
    buffer.write(text.slice(0, buffer.length), 'latin1');
    return buffer;
  };
}

/** A text file of log-like lines (about 3.5-4x with gzip -6 or zstd -3). */
export async function makeTextFile(dir: string, size: number): Promise<string> {
  const path = join(dir, `text-${sizeLabel(size)}`);
  if ((await stat(path).catch(() => undefined))?.size === size) return path;
  await writeGenerated(path, size, createLogLines());
  return path;
}
