import type { Readable } from 'node:stream';
import { RemoteIOError, type ErrorContext } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';

// A login shell that prints more than this before our header is not one we can talk through.
const MAX_NOISE = 1 << 20;

/**
 * What came before the data on a session's stdout: the fields of the header line
 * "<tag> <fields...>", or, when the output ended without one, the last line printed instead (a
 * server's refusal, say), escaped. Startup files of the login shell may print to stdout before
 * our script runs; the per-transfer tag cannot be forged.
 */
export type Header = { fields: string[] } | { fields: undefined; noise: string };

/**
 * Reads `stream` up to and including the header line, and puts back what follows it: the
 * stream is then paused at the first byte of the data, ready to be piped. Rejects with a
 * RemoteIOError after 1 MiB of output without a header.
 */
export function readHeader(stream: Readable, tag: string, context: ErrorContext): Promise<Header> {
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0);
    const settle = (done: () => void) => {
      stream.pause();
      stream.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      done();
    };
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const found = findHeader(pending, tag);
      if (found) {
        settle(() => {
          if (found.rest.length > 0) stream.unshift(found.rest);
          resolve({ fields: found.fields });
        });
      } else if (pending.length > MAX_NOISE) {
        settle(() => reject(tooMuchNoise(context)));
      }
    };
    const onEnd = () => settle(() => resolve({ fields: undefined, noise: lastLine(pending) }));
    const onError = (error: Error) => settle(() => reject(error));
    stream.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', onError);
    // A stream paused explicitly (handed over by another reader) does not flow for 'data' alone.
    stream.resume();
  });
}

/** The bytes of `source` after its header line (none if it never comes). */
export async function* bytesAfterHeader(
  source: AsyncIterable<Buffer>,
  tag: string,
  context: ErrorContext,
): AsyncGenerator<Buffer> {
  let pending: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of source) {
    if (pending === undefined) {
      yield chunk;
      continue;
    }
    pending = Buffer.concat([pending, chunk]);
    const found = findHeader(pending, tag);
    if (found) {
      pending = undefined;
      if (found.rest.length > 0) yield found.rest;
    } else if (pending.length > MAX_NOISE) {
      throw tooMuchNoise(context);
    }
  }
}

/** The data header of a pull: "<tag> <size|-> <offset> <compression|->". */
export interface DataHeader {
  /** The remote file's size; undefined when it is not a regular file. */
  size: number | undefined;
  /** Where the data starts in the remote file. */
  offset: number;
  /** The compression on the wire, as the remote side names it ('-': none). */
  compress: string | undefined;
}

/** Reads the fields of a pull's data header. */
export function parseDataHeader(fields: readonly string[]): DataHeader {
  const [sizeText = '', offsetText = '0', compress] = fields;
  return {
    // Digits only: Number('') is 0, and a missing size is not an empty file.
    size: /^\d+$/.test(sizeText) ? Number(sizeText) : undefined,
    offset: Number(offsetText) || 0,
    compress,
  };
}

function findHeader(buffer: Buffer, tag: string): { fields: string[]; rest: Buffer } | undefined {
  const at = buffer.indexOf(tag + ' ');
  const newline = at === -1 ? -1 : buffer.indexOf(0x0a, at);
  if (newline === -1) return undefined;
  const line = buffer.subarray(at + tag.length + 1, newline).toString('latin1');
  return { fields: line.split(' '), rest: buffer.subarray(newline + 1) };
}

function tooMuchNoise(context: ErrorContext): RemoteIOError {
  return new RemoteIOError(
    'no data header from the remote side after 1 MiB of output (does the login shell print too much?)',
    context,
  );
}

// The last non-empty line, at most its last 2 KiB, escaped.
function lastLine(output: Buffer): string {
  const lines = output
    .toString('latin1')
    .split('\n')
    .filter((line) => line.trim() !== '');
  const last = (lines.at(-1) ?? '').slice(-2048);
  return escapeControl(Buffer.from(last, 'latin1')).trim();
}
