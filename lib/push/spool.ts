import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { AUTO_SAMPLE_BYTES, chooseCompression } from '../../transforms/compress.js';
import { LocalIOError } from '../util/errors.js';
import { INLINE_LIMIT, type PushOptions, type PushResult } from './options.js';
import type { PushStream } from './push-stream.js';
import { pushDirect } from './push-with-retries.js';

/**
 * The local copy of a fan-out's input (in `$TMPDIR`, private), for the targets that start only
 * after the input ended. A write error ($TMPDIR full) is kept in `error`: it fails those
 * targets only.
 */
export class Spool {
  error: Error | undefined;
  private readonly stream: WriteStream;

  private constructor(
    private readonly dir: string,
    readonly file: string,
  ) {
    this.stream = createWriteStream(file, { mode: 0o600 });
    this.stream.on('error', (error) => (this.error ??= error));
  }

  /** A new, empty spool in a private directory of its own. */
  static async create(): Promise<Spool> {
    const dir = await mkdtemp(join(tmpdir(), 'sshstream-spool-'));
    return new Spool(dir, join(dir, 'input'));
  }

  /** Resolves when the spool can take more (at once, or on 'drain'), or has failed. */
  write(chunk: Buffer): Promise<void> {
    return this.error ? Promise.resolve() : writeTo(this.stream, chunk);
  }

  /** Resolves once every byte is written and the file closed, or the spool failed. */
  async end(): Promise<void> {
    if (this.error) return;
    await new Promise<void>((resolve) => {
      this.stream.once('error', () => resolve());
      this.stream.end(() => resolve());
    });
  }

  /** Stops writing and removes the file and its directory. */
  async remove(): Promise<void> {
    this.stream.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Whether ssh can send the spool `file` to the waiting targets as it is, reading it by itself
 * (see pushSpooled): not for a small file (it goes inline, on the control session), nor where
 * compression (unless auto finds that the data does not compress, as the first targets found),
 * a rate limit or resume need the bytes to pass through node.
 */
export async function readableBySsh(file: string, options: PushOptions): Promise<boolean> {
  if (options.limitRate || options.resume) return false;
  if (options.compress !== undefined && options.compress !== 'auto') return false;
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size <= INLINE_LIMIT || options.compress === undefined) return size > INLINE_LIMIT;
    const sample = Buffer.alloc(AUTO_SAMPLE_BYTES);
    const { bytesRead } = await handle.read(sample, 0, sample.length, 0);
    return chooseCompression(sample.subarray(0, bytesRead), ['gzip']) === undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Pushes the whole spool file to `target`, read by ssh itself from a descriptor of its own
 * (PushOptions.direct): a target then costs no buffers here, however many run at once.
 * `digestSource` gives the digest that the target is verified against: the input's
 * own, not a second reading of its copy. `watch` sees the PushStream as soon as it exists.
 */
export async function pushSpooled(
  file: string,
  target: string,
  options: PushOptions,
  digestSource: (() => Promise<string>) | undefined,
  watch: (stream: PushStream) => void,
): Promise<PushResult> {
  const handle = await open(file, 'r');
  try {
    const direct = { fd: handle.fd, start: 0 };
    const only = { ...options, compress: undefined };
    return await pushDirect(direct, target, only, watch, digestSource);
  } finally {
    await handle.close();
  }
}

/** Resolves when `stream` can take more: at once, on 'drain', or when it failed or closed. */
export function writeTo(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** The failure of a target that waited for the spool, when the spool could not be written. */
export function spoolLost(target: string, cause: Error): LocalIOError {
  return new LocalIOError(
    `cannot keep the local copy of the input this target waited for: ${cause.message}`,
    { operation: 'push', target, cause },
  );
}
