import { randomInt } from 'node:crypto';
import { Readable, Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A Writable that keeps what it is given; `.data()` is everything so far. */
export function sink(): Writable & { data: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return Object.assign(stream, { data: () => Buffer.concat(chunks) });
}

/** `data` cut into chunks of random sizes (1 byte to ~70 KB), without copying. */
export function* randomChunks(data: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < data.length;) {
    const size = randomInt(1, 70_000);
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

/** Runs `data`, in random chunks, through `stream`; resolves with what came out. */
export async function throughStream(data: Buffer, stream: Duplex): Promise<Buffer> {
  const out = sink();
  await pipeline(Readable.from(randomChunks(data)), stream, out);
  return out.data();
}
