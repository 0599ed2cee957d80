import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { pipeThrough } from '../util/pipe-through.js';
import { flushWhileLanding } from './landing-flush.js';

/** How {@link writeFileAtomic} writes before it commits. */
export interface AtomicWriteOptions {
  /** Transforms (a progress meter, say) between the source and the file. */
  through?: readonly Duplex[] | undefined;
  /**
   * The caller's own temporary file and how to open it (`'a'` continues it). It is created
   * private (0600), since it may outlive this process, and left in place on failure for the
   * caller to keep or remove. Default: a fresh hidden name beside the file, created exclusively
   * with the file's mode and removed on failure.
   */
  temporary?: { path: string; flags: 'a' | 'w' | 'wx' } | undefined;
}

/**
 * Writes `source` to `path` atomically, the local twin of the remote commit: a temporary file
 * beside `path`, fsynced and renamed over it only when `source` ends without error, then the
 * directory fsynced. On any error `path` is left as it was, and no descriptor of ours is open
 * on the temporary file any more. The result keeps an existing file's mode; a new file gets
 * what `cat >` would give it (0666 less the umask and any default ACL).
 */
export async function writeFileAtomic(
  source: Readable,
  path: string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const own = options.temporary;
  const temporary = own?.path ?? temporaryPathOf(path);
  const existing = await stat(path).then(
    (found) => found.mode & 0o7777,
    () => undefined,
  );
  // 'wx': never write through a file that appeared under our temporary name.
  const sink = createWriteStream(temporary, {
    flags: own?.flags ?? 'wx',
    mode: own ? 0o600 : (existing ?? 0o666),
  });
  // Written back while it lands, through a descriptor of its own: the stream closes its own.
  const flushing = flushWhileLanding(temporary);
  try {
    await pipeThrough(source, options.through ?? [], sink);
    await flushing.finish();
    const mode = own ? (existing ?? (await newFileMode(dirname(path)))) : existing;
    await commitLocalFile(temporary, path, mode);
  } catch (error) {
    await flushing.stop();
    if (!sink.closed) await once(sink, 'close').catch(() => {});
    if (!own) await unlink(temporary).catch(() => {});
    throw error;
  }
}

/** A fresh hidden name beside `path` for a temporary file of our own. */
export function temporaryPathOf(path: string): string {
  const name = basename(path);
  return join(
    dirname(path),
    `.${Buffer.byteLength(name) > 200 ? '' : name}.sshstream-${randomBytes(8).toString('hex')}.tmp`,
  );
}

/**
 * The steps the remote side takes too: `mode` on the temporary file, its data on disk (fsync),
 * the rename over `path`, and the rename itself on disk (fsync of the directory). `mode`
 * undefined keeps what the file was created with.
 */
export async function commitLocalFile(
  temporary: string,
  path: string,
  mode: number | undefined,
): Promise<void> {
  const handle = await open(temporary, 'r+');
  try {
    if (mode !== undefined) await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}

// Without it a crash right after the rename can bring back the old file (or none) on reboot.
// Some file systems cannot open or fsync a directory (EISDIR, EINVAL, EPERM): nothing to do then.
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => {});
  } finally {
    await handle.close();
  }
}

/**
 * The mode a new file gets in `directory`, found by creating one: `process.umask()` can only
 * read the mask by changing it, and a default ACL would not show in it anyway.
 */
export async function newFileMode(directory: string): Promise<number> {
  const probe = join(directory, `.sshstream-${randomBytes(6).toString('hex')}.mode`);
  const handle = await open(probe, 'wx', 0o666);
  try {
    return (await handle.stat()).mode & 0o7777;
  } finally {
    await handle.close();
    await unlink(probe).catch(() => {});
  }
}
