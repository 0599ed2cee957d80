import { randomBytes, type Hash } from 'node:crypto';
import { lstat, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { VerificationError } from '../util/errors.js';
import { hashRange } from '../util/hash-range.js';
import { writeFileAtomic } from './local-file.js';
import type { PullStream } from './pull-stream.js';

/** The fixed name of a resumable pull's partial file, beside `path`, so the next run finds it. */
export function partialPathOf(path: string): string {
  const name = basename(path);
  return join(
    dirname(path),
    `.${Buffer.byteLength(name) > 200 ? 'sshstream' : name}.sshstream-partial`,
  );
}

/**
 * Pulls into `path` through a partial file of its own: takes the shared partial file (renaming
 * it, so of overlapping pulls only one gets it), continues it when the remote file starts with
 * the same bytes, gives it back under the shared name when the transfer fails (unless what
 * arrived was wrong), and fsyncs and renames it into place only when the whole file is verified.
 */
export async function pullIntoPartial(
  path: string,
  algorithm: ChecksumAlgorithm,
  start: (resumeFrom: { bytes: number; hash: Hash } | undefined) => PullStream,
  through: (stream: PullStream) => Duplex[] = () => [],
): Promise<PullStream> {
  const partial = partialPathOf(path);
  const own = ownPartialPath(partial);
  const taken = (await takeFile(partial, own)) || (await adoptOrphan(partial, own));
  const held = taken ? await stat(own) : undefined;
  const resumeFrom =
    held && held.size > 0 && algorithm !== 'none'
      ? { bytes: held.size, hash: (await hashRange(own, algorithm)).hash! }
      : undefined;
  try {
    const stream = start(resumeFrom);
    try {
      // The header says whether the remote side continues our partial file or starts over.
      await new Promise<void>((resolve, reject) => {
        stream.once('size', () => resolve());
        stream.once('error', reject);
      });
      // A file of our own: appended to, truncated, or (nothing taken) created exclusively.
      const flags = stream.offset > 0 ? 'a' : taken ? 'w' : 'wx';
      await writeFileAtomic(stream, path, {
        through: through(stream),
        temporary: { path: own, flags },
      });
      return stream;
    } catch (error) {
      const failure = await stream.result.then(
        () => error,
        (reason: unknown) => reason,
      );
      if (failure instanceof VerificationError) await unlink(own).catch(() => {});
      throw error;
    }
  } finally {
    // The writer has closed its descriptor: nothing of ours writes into the file given back.
    await rename(own, partial).catch(() => {});
  }
}

/** This process's own partial file; its pid in the name tells a later run when it is orphaned. */
export function ownPartialPath(partial: string): string {
  return `${partial.slice(0, -'partial'.length)}${process.pid}-${randomBytes(6).toString('hex')}.partial`;
}

/** Renames a regular file `from` to `to`: atomic, so only one of several takers succeeds. */
export async function takeFile(from: string, to: string): Promise<boolean> {
  const found = await lstat(from).catch(() => undefined);
  if (!found?.isFile()) return false;
  return rename(from, to).then(
    () => true,
    () => false,
  );
}

/** Takes a partial file whose pull was killed (its process is gone, so nothing writes into it). */
export async function adoptOrphan(partial: string, own: string): Promise<boolean> {
  const prefix = basename(partial).slice(0, -'partial'.length);
  const names = await readdir(dirname(partial)).catch(() => [] as string[]);
  for (const name of names) {
    const pid = /^(\d+)-[0-9a-f]{12}\.partial$/.exec(name.slice(prefix.length))?.[1];
    if (!name.startsWith(prefix) || !pid || isRunning(Number(pid))) continue;
    if (await takeFile(join(dirname(partial), name), own)) return true;
  }
  return false;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
