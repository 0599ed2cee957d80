import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChecksumAlgorithm } from '../transforms/checksum.js';
import { VerificationError } from './errors.js';
import type { PullStream } from './pull.js';

/** The fixed name of a resumable pull's partial file, beside `path`, so the next run finds it. */
export function partialPathOf(path: string): string {
  const name = basename(path);
  return join(
    dirname(path),
    `.${Buffer.byteLength(name) > 200 ? 'sshstream' : name}.sshstream-partial`,
  );
}

/**
 * Pulls into `path` through its partial file: continues a partial file when the remote file
 * starts with the same bytes, keeps it when the transfer fails (unless what arrived was
 * wrong), and fsyncs and renames it into place only when the whole file is verified.
 */
export async function pullIntoPartial(
  path: string,
  algorithm: ChecksumAlgorithm,
  start: (resumeFrom: { bytes: number; hash: Hash } | undefined) => PullStream,
  through: (stream: PullStream) => Duplex[] = () => [],
): Promise<PullStream> {
  const partial = partialPathOf(path);
  const held = await stat(partial).catch(() => undefined);
  const resumeFrom =
    held?.isFile() && held.size > 0 && algorithm !== 'none'
      ? { bytes: held.size, hash: await hashFile(partial, algorithm) }
      : undefined;
  const stream = start(resumeFrom);
  const mode = await stat(path).then(
    (existing) => existing.mode & 0o7777,
    () => 0o666 & ~process.umask(),
  );
  try {
    // The header says whether the remote side continues our partial file or starts over.
    await new Promise<void>((resolve, reject) => {
      stream.once('size', () => resolve());
      stream.once('error', reject);
    });
    const sink = createWriteStream(partial, { flags: stream.offset > 0 ? 'a' : 'w', mode: 0o600 });
    await pipeline([stream, ...through(stream), sink] as unknown as NodeJS.WritableStream[]);
    const handle = await open(partial, 'r+');
    try {
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, path);
  } catch (error) {
    const failure = await stream.result.then(
      () => error,
      (own: unknown) => own,
    );
    if (failure instanceof VerificationError) await unlink(partial).catch(() => {});
    throw error;
  }
  return stream;
}

async function hashFile(
  path: string,
  algorithm: Exclude<ChecksumAlgorithm, 'none'>,
): Promise<Hash> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash;
}
