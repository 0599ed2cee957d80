import { createReadStream, fstatSync, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { LocalIOError, VerificationError, type ErrorContext } from '../util/errors.js';
import { fileStamp } from '../push/direct-input.js';
import { descriptorOffset } from '../util/descriptor-offset.js';

/**
 * A regular file on stdin has a size (for percent and ETA) and can be read again (for resume).
 * stdin that cannot be read at all (a directory) fails now, before anything connects.
 */
export function statOfStdin(context: ErrorContext): Stats {
  let stat: Stats;
  try {
    stat = fstatSync(0);
  } catch (error) {
    throw new LocalIOError(`cannot read input: ${(error as Error).message}`, {
      ...context,
      cause: error,
    });
  }
  if (stat.isDirectory()) {
    throw new LocalIOError('cannot read input: stdin is a directory (EISDIR)', context);
  }
  return stat;
}

/**
 * Node's process.stdin reads pipes, sockets and regular files, but for anything else (a block
 * device, say) it is an empty stream that ends at once: that would commit an empty file. A
 * plain read stream on descriptor 0 reads those, and a failed read errors the push.
 */
export function stdinStream(stat: Stats): Readable {
  if (stat.isFIFO() || stat.isSocket() || stat.isFile()) return process.stdin;
  return createReadStream('', { fd: 0, autoClose: false });
}

/**
 * A regular file on stdin read through node: the input must be the whole file from where
 * stdin stood, unchanged (a file truncated underway would otherwise commit its prefix).
 * Returns the check to run before the commit, given the bytes read.
 */
export function unchangedFile(
  size: number,
  resumable: boolean,
  context: { operation: string; target: string },
): (bytes: number) => void {
  const stamp = fileStamp(0);
  const start = resumable ? 0 : descriptorOffset(0);
  return (bytes) => {
    const expected = start === undefined ? bytes : size - start;
    if (fileStamp(0) === stamp && bytes === expected) return;
    throw new VerificationError(
      `${bytes} bytes read, ${expected} expected; nothing committed (the input file changed while it was sent)`,
      { bytes: expected, digest: '' },
      { bytes, digest: '' },
      context,
    );
  };
}
