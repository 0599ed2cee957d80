import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { ChecksumStream, createChecksum } from '../../transforms/checksum.js';
import { randomChunks } from '../helpers/streams.js';

// Random chunk boundaries are where hashing and counting bugs hide.
const collect = async (source: AsyncIterable<Buffer>): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of source) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
};

describe('createChecksum', () => {
  for (const algorithm of ['md5', 'sha1', 'sha256'] as const) {
    for (const size of [0, 1, 65_536, 3 * 1024 * 1024 + 7]) {
      test(`${algorithm} of ${size} random bytes matches node:crypto and passes data through`, async () => {
        const data = randomBytes(size);
        const checksum = createChecksum(algorithm);
        let output: Buffer = Buffer.alloc(0);
        await pipeline(Readable.from(randomChunks(data)), checksum, async (source) => {
          output = await collect(source);
        });
        const expected = createHash(algorithm).update(data).digest('hex');
        assert.equal(checksum.digest(), expected);
        assert.equal(checksum.bytes, size);
        assert.deepEqual(await checksum.result, { algorithm, digest: expected, bytes: size });
        assert.ok(output.equals(data));
      });
    }
  }

  test("'none' counts bytes and has an empty digest", async () => {
    const data = randomBytes(100_000);
    const checksum = createChecksum('none');
    await pipeline(Readable.from(randomChunks(data)), checksum, async (source) => {
      assert.ok((await collect(source)).equals(data));
    });
    assert.equal(checksum.digest(), '');
    assert.deepEqual(await checksum.result, { algorithm: 'none', digest: '', bytes: 100_000 });
  });

  test('pushes the very same Buffer objects it was given', async () => {
    const checksum = createChecksum('md5');
    const inputs = [randomBytes(10), randomBytes(20_000)];
    const seen: unknown[] = [];
    checksum.on('data', (chunk) => seen.push(chunk));
    const ended = new Promise((resolve) => checksum.on('end', resolve));
    for (const input of inputs) {
      checksum.write(input);
    }
    checksum.end();
    await ended;
    assert.equal(seen.length, inputs.length);
    seen.forEach((chunk, index) => assert.equal(chunk, inputs[index]));
  });

  test('bytes is live while data flows', () => {
    const checksum = createChecksum('sha256');
    checksum.resume();
    checksum.write(Buffer.alloc(5));
    checksum.write(Buffer.alloc(7));
    assert.equal(checksum.bytes, 12);
    checksum.destroy();
  });

  test('digest() before the input ended throws', () => {
    const checksum = createChecksum('md5');
    checksum.write(Buffer.from('abc'));
    assert.throws(() => checksum.digest(), /before the stream finished/);
    checksum.destroy();
  });

  test('result rejects with the error when destroyed early', async () => {
    const checksum = createChecksum('sha1');
    checksum.on('error', () => {});
    checksum.destroy(new Error('link dropped'));
    await assert.rejects(checksum.result, /link dropped/);
  });

  test('result rejects when destroyed without an error before the end', async () => {
    const checksum = createChecksum('sha1');
    checksum.destroy();
    await assert.rejects(checksum.result, /destroyed before the input ended/);
  });

  test('an unknown algorithm is a TypeError', () => {
    assert.throws(
      () => createChecksum('crc32' as never),
      (error: unknown) => error instanceof TypeError && /"crc32"/.test(error.message),
    );
  });

  test('returns a ChecksumStream', () => {
    assert.ok(createChecksum('none') instanceof ChecksumStream);
  });
});
