import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { describe, test } from 'node:test';
import { createGunzip, createGzip } from 'node:zlib';
import {
  chain,
  createChecksum,
  createCompressor,
  createDecompressor,
} from '../../transforms/index.js';
import { throughStream } from '../helpers/streams.js';

const run = throughStream;

// Fails once it has seen `limit` bytes, like a stage that hits a disk-full or a bad header.
const failAfter = (limit: number, message: string): Transform => {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > limit ? new Error(message) : null, chunk);
    },
  });
};

describe('chain', () => {
  test('no streams gives a working PassThrough', async () => {
    const stream = chain();
    assert.ok(stream instanceof PassThrough);
    const data = randomBytes(100_000);
    assert.ok((await run(data, stream)).equals(data));
  });

  test('one stream is returned as is', () => {
    const gzip = createGzip();
    assert.equal(chain(gzip), gzip);
    gzip.destroy();
  });

  for (const size of [0, 1, 3 * 1024 * 1024 + 1]) {
    test(`gzip then gunzip is the identity (${size} bytes)`, async () => {
      const data = randomBytes(size);
      assert.ok((await run(data, chain(createGzip(), createGunzip()))).equals(data));
    });
  }

  test('four stages: checksums on both sides of a compressor round trip agree', async () => {
    const data = Buffer.concat([randomBytes(500_000), Buffer.alloc(500_000, 'abc')]);
    const before = createChecksum('sha256');
    const after = createChecksum('sha256');
    const output = await run(
      data,
      chain(before, createCompressor('gzip', 1), createDecompressor('gzip'), after),
    );
    assert.ok(output.equals(data));
    assert.equal(before.digest(), after.digest());
    assert.equal(after.bytes, data.length);
  });

  test('an error in a middle stage rejects the pipeline and destroys every stage', async () => {
    const first = new PassThrough();
    const last = new PassThrough();
    const chained = chain(first, failAfter(10_000, 'disk full'), last);
    await assert.rejects(run(randomBytes(200_000), chained), /disk full/);
    assert.ok(first.destroyed);
    assert.ok(last.destroyed);
    assert.ok(chained.destroyed);
  });

  test('an error in the first stage propagates too (corrupt gzip)', async () => {
    const chained = chain(createGunzip(), new PassThrough());
    await assert.rejects(run(randomBytes(50_000), chained), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'Z_DATA_ERROR');
      return true;
    });
  });

  test('an error in the last stage propagates too', async () => {
    const chained = chain(createGzip(), createGunzip(), failAfter(1000, 'reader gave up'));
    await assert.rejects(run(randomBytes(100_000), chained), /reader gave up/);
  });
});
