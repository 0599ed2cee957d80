import { Transform, type Duplex, type TransformCallback } from 'node:stream';
import { createDecompressor, type Compression } from '../transforms/compress.js';

/**
 * A pass-through until `decompressWith(kind)` is called (before any data arrives), then a
 * decompressor. For `--compress auto` on pull: the remote side decides and says so in the data
 * header, after the pipeline is built. Backpressure holds both ways: the inner decompressor is
 * paused while this stream's reader is full, and writes wait for the inner one to drain.
 */
export class LateDecompressor extends Transform {
  private inner: Duplex | undefined;

  decompressWith(kind: Compression): void {
    const inner = createDecompressor(kind);
    this.inner = inner;
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('error', (error) => this.destroy(error));
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const inner = this.inner;
    if (!inner) return callback(null, chunk);
    if (inner.write(chunk)) callback();
    else inner.once('drain', () => callback());
  }

  override _flush(callback: TransformCallback): void {
    const inner = this.inner;
    if (!inner) return callback();
    inner.once('end', () => callback());
    inner.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(error);
  }
}
