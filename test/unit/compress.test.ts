import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { hasLocalCommand } from '../../transforms/which.js';
import {
  type Compression,
  MissingCommandError,
  createCompressor,
  createDecompressor,
} from '../../transforms/compress.js';
import { throughStream } from '../helpers/streams.js';
import { skipUnless } from '../helpers/prerequisites.js';

const run = throughStream;

const compressible = (size: number): Buffer => {
  const line = Buffer.from(
    '2024-01-01T00:00:00Z INFO request served path=/index.html status=200\n',
  );
  return Buffer.alloc(size, line);
};

const cli: Record<Compression, string> = { gzip: 'gzip', zstd: 'zstd' };

for (const kind of ['gzip', 'zstd'] as const) {
  const skip = skipUnless(hasLocalCommand(cli[kind]), `${cli[kind]} is not installed`);

  describe(`${kind} compression`, { skip }, () => {
    const inputs: [string, () => Buffer][] = [
      ['0 bytes', () => Buffer.alloc(0)],
      ['1 byte', () => randomBytes(1)],
      ['2 MiB random', () => randomBytes(2 * 1024 * 1024 + 3)],
      ['4 MiB compressible', () => compressible(4 * 1024 * 1024)],
    ];
    for (const [name, make] of inputs) {
      test(`round trip of ${name}`, async () => {
        const data = make();
        const compressed = await run(data, createCompressor(kind));
        assert.ok(compressed.length > 0, 'even empty input has a header');
        const restored = await run(compressed, createDecompressor(kind));
        assert.ok(restored.equals(data));
      });
    }

    test('compressible data shrinks a lot', async () => {
      const data = compressible(4 * 1024 * 1024);
      const compressed = await run(data, createCompressor(kind, 1));
      assert.ok(compressed.length < data.length / 20, `${compressed.length} bytes`);
    });

    test(`output is decodable by the ${cli[kind]} CLI`, async () => {
      const data = Buffer.concat([randomBytes(300_000), compressible(700_000)]);
      const compressed = await run(data, createCompressor(kind, 9));
      const { stdout } = await execa(cli[kind], ['-d', '-c'], {
        input: compressed,
        encoding: 'buffer',
        stripFinalNewline: false,
      });
      assert.ok(Buffer.from(stdout).equals(data));
    });

    test(`decodes what the ${cli[kind]} CLI wrote`, async () => {
      const data = Buffer.concat([compressible(500_000), randomBytes(100_000)]);
      const { stdout } = await execa(cli[kind], ['-c'], {
        input: data,
        encoding: 'buffer',
        stripFinalNewline: false,
      });
      const restored = await run(Buffer.from(stdout), createDecompressor(kind));
      assert.ok(restored.equals(data));
    });

    test('garbage input makes the decompressor fail', async () => {
      await assert.rejects(run(randomBytes(10_000), createDecompressor(kind)));
    });

    test('truncated input makes the decompressor fail', async () => {
      const compressed = await run(randomBytes(200_000), createCompressor(kind));
      await assert.rejects(
        run(compressed.subarray(0, compressed.length - 20), createDecompressor(kind)),
      );
    });

    test('an out-of-range level is a RangeError', () => {
      for (const level of [0, 23, 1.5, Number.NaN]) {
        assert.throws(() => createCompressor(kind, level), RangeError);
      }
    });
  });
}

describe('compression argument checks', () => {
  test('gzip accepts 1..9 only', () => {
    assert.throws(
      () => createCompressor('gzip', 10),
      /gzip level 10: expected an integer from 1 to 9/,
    );
    assert.doesNotThrow(() => createCompressor('gzip', 9).destroy());
  });

  test('an unknown kind is a TypeError', () => {
    assert.throws(() => createCompressor('bzip2' as never), TypeError);
    assert.throws(() => createDecompressor('xz' as never), TypeError);
  });

  test('zstd without a local zstd binary says what to install', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sshstream-nopath-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      for (const create of [() => createCompressor('zstd'), () => createDecompressor('zstd')]) {
        assert.throws(create, (error: unknown) => {
          assert.ok(error instanceof MissingCommandError);
          assert.equal(error.code, 'ENOENT');
          assert.equal(error.command, 'zstd');
          assert.match(error.message, /^zstd not found locally: install zstd/);
          return true;
        });
      }
    } finally {
      process.env.PATH = saved;
      await rm(empty, { recursive: true, force: true });
    }
  });
});
