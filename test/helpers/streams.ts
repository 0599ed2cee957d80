import { Writable } from 'node:stream';

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
