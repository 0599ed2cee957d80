// AutoCompressDelivery: the format is chosen from the first 64 KiB and what both ends have.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  AUTO_SAMPLE_BYTES,
  localCompressions,
  type Compression,
} from '../../transforms/compress.js';
import { AutoCompressDelivery } from '../../lib/push/auto-compress.js';
import type { Delivery, LocalDigest } from '../../lib/push/delivery.js';
import type { ControlConnection } from '../../lib/ssh/control-connection.js';

// Only what the class reads: the formats listed in the control script's `ready` report.
const control = (remote: string) =>
  ({ ready: { word: 'ready', fields: ['0', remote] } }) as unknown as ControlConnection;

/** A delivery that records what reaches it, and which formats `begin` was asked for. */
function recorder() {
  const begun: (Compression | undefined)[] = [];
  const received: Buffer[] = [];
  let stopped = false;
  const begin = (format: Compression | undefined): Delivery => {
    begun.push(format);
    return {
      compress: format,
      write(chunk, callback) {
        received.push(chunk);
        callback();
      },
      end: (): Promise<LocalDigest> =>
        Promise.resolve({ bytes: Buffer.concat(received).length, digest: 'recorded' }),
      stop: () => void (stopped = true),
    };
  };
  return { begin, begun, data: () => Buffer.concat(received), stopped: () => stopped };
}

const write = (delivery: Delivery, chunk: Buffer) =>
  new Promise<void>((resolve, reject) =>
    delivery.write(chunk, (error) => (error ? reject(error) : resolve())),
  );

const compressible = Buffer.alloc(AUTO_SAMPLE_BYTES * 2, 'all the same text ');

describe('AutoCompressDelivery', () => {
  it('holds the input until 64 KiB have come, then passes it all on, in order', async () => {
    const r = recorder();
    const delivery = new AutoCompressDelivery(control('gzip'), r.begin);
    await write(delivery, compressible.subarray(0, 1000));
    await write(delivery, compressible.subarray(1000, AUTO_SAMPLE_BYTES - 1));
    assert.deepEqual(r.begun, []);
    assert.equal(delivery.compress, undefined);
    await write(delivery, compressible.subarray(AUTO_SAMPLE_BYTES - 1, AUTO_SAMPLE_BYTES));
    assert.deepEqual(r.begun, ['gzip']);
    assert.equal(delivery.compress, 'gzip');
    await write(delivery, compressible.subarray(AUTO_SAMPLE_BYTES));
    assert.deepEqual(await delivery.end(), { bytes: compressible.length, digest: 'recorded' });
    assert.ok(r.data().equals(compressible));
    assert.deepEqual(r.begun, ['gzip'], 'begun once');
  });

  it('sends random data uncompressed', async () => {
    const r = recorder();
    const delivery = new AutoCompressDelivery(control('zstd,gzip'), r.begin);
    const data = randomBytes(AUTO_SAMPLE_BYTES + 5);
    await write(delivery, data);
    assert.deepEqual(r.begun, [undefined]);
    await delivery.end();
    assert.ok(r.data().equals(data));
  });

  it('picks zstd when both ends have it, else gzip', async () => {
    const both = recorder();
    await write(new AutoCompressDelivery(control('zstd,gzip'), both.begin), compressible);
    const zstdHere = localCompressions().includes('zstd');
    assert.deepEqual(both.begun, [zstdHere ? 'zstd' : 'gzip']);
    const remoteGzipOnly = recorder();
    await write(new AutoCompressDelivery(control('gzip'), remoteGzipOnly.begin), compressible);
    assert.deepEqual(remoteGzipOnly.begun, ['gzip']);
  });

  it('compresses nothing when the remote side can decompress nothing', async () => {
    const r = recorder();
    await write(new AutoCompressDelivery(control(''), r.begin), compressible);
    assert.deepEqual(r.begun, [undefined]);
  });

  it('decides at end() on a short input, from what there is', async () => {
    const r = recorder();
    const delivery = new AutoCompressDelivery(control('gzip'), r.begin);
    await write(delivery, compressible.subarray(0, 500));
    assert.deepEqual(await delivery.end(), { bytes: 500, digest: 'recorded' });
    assert.deepEqual(r.begun, ['gzip']);
  });

  it('an empty input goes uncompressed', async () => {
    const r = recorder();
    const delivery = new AutoCompressDelivery(control('gzip'), r.begin);
    assert.deepEqual(await delivery.end(), { bytes: 0, digest: 'recorded' });
    assert.deepEqual(r.begun, [undefined]);
  });

  it('a failure to begin fails the write that decided, and end()', async () => {
    const failing = () => {
      throw new Error('no data session');
    };
    const delivery = new AutoCompressDelivery(control('gzip'), failing);
    await assert.rejects(write(delivery, compressible), /^Error: no data session$/);
    const short = new AutoCompressDelivery(control('gzip'), failing);
    await write(short, compressible.subarray(0, 10));
    await assert.rejects(short.end(), /^Error: no data session$/);
  });

  it('stop() reaches the chosen delivery', async () => {
    const r = recorder();
    const delivery = new AutoCompressDelivery(control('gzip'), r.begin);
    await delivery.stop(); // nothing chosen yet: nothing to stop
    await write(delivery, compressible);
    await delivery.stop();
    assert.equal(r.stopped(), true);
  });
});
