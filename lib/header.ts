import { Transform, type TransformCallback } from 'node:stream';
import { RemoteIOError, type ErrorContext } from './errors.js';
import { escapeControl } from './util/escape.js';

// A login shell that prints more than this before our header is not one we can talk through.
const MAX_NOISE = 1 << 20;

/**
 * Drops everything up to and including the header line "<tag> <fields...>" and passes the rest
 * through; `onHeader` gets the fields: size, offset and the compression on the wire. Startup files of the login
 * shell may print to stdout before our script runs; the per-transfer tag cannot be forged.
 */
export class HeaderStripper extends Transform {
  private pending: Buffer | undefined = Buffer.alloc(0);
  constructor(
    private readonly tag: string,
    private readonly onHeader: (
      size: number | undefined,
      offset: number,
      compress: string | undefined,
    ) => void = () => {},
    private readonly context: ErrorContext = {},
  ) {
    super();
  }

  /** The last line the remote side printed while no header came (a server's refusal, say), escaped. */
  get noiseLine(): string {
    const lines = (this.pending ?? Buffer.alloc(0))
      .toString('latin1')
      .split('\n')
      .filter((line) => line.trim() !== '');
    const last = (lines.at(-1) ?? '').slice(-2048);
    return escapeControl(Buffer.from(last, 'latin1')).trim();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.pending === undefined) return callback(null, chunk);
    const buffer = Buffer.concat([this.pending, chunk]);
    const at = buffer.indexOf(this.tag + ' ');
    const newline = at === -1 ? -1 : buffer.indexOf(0x0a, at);
    if (newline === -1) {
      if (buffer.length > MAX_NOISE) {
        return callback(
          new RemoteIOError(
            'no data header from the remote side after 1 MiB of output (does the login shell print too much?)',
            this.context,
          ),
        );
      }
      this.pending = buffer;
      return callback();
    }
    const [sizeText = '', offsetText = '0', compress] = buffer
      .subarray(at + this.tag.length + 1, newline)
      .toString('latin1')
      .split(' ');
    const size = Number(sizeText);
    this.pending = undefined;
    this.onHeader(
      sizeText !== '-' && Number.isFinite(size) ? size : undefined,
      Number(offsetText) || 0,
      compress,
    );
    callback(null, buffer.subarray(newline + 1));
  }

  override _flush(callback: TransformCallback): void {
    callback();
  }
}
