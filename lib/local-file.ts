import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { commitLocalFile } from './local-commit.js';

/**
 * Writes `source` to `path` atomically, the local twin of the remote commit: a hidden temporary
 * file beside `path`, fsynced and renamed only when `source` ends without error. On any error
 * the temporary file is removed and `path` is left as it was. An existing file keeps its mode.
 * `through` are transforms (progress, say) between source and file.
 */
export async function writeFileAtomic(
  source: Readable,
  path: string,
  through: readonly Duplex[] = [],
): Promise<void> {
  const name = basename(path);
  const temporary = join(
    dirname(path),
    `.${Buffer.byteLength(name) > 200 ? '' : name}.sshstream-${randomBytes(8).toString('hex')}.tmp`,
  );
  // An existing file keeps its mode; a new one is created with 0666, less the umask.
  const existing = await stat(path).then(
    (found) => found.mode & 0o7777,
    () => undefined,
  );
  try {
    // 'wx': never write through a file that appeared under our temporary name.
    const sink = createWriteStream(temporary, { flags: 'wx', mode: existing ?? 0o666 });
    await pipeline([source, ...through, sink] as unknown as NodeJS.WritableStream[]);
    await commitLocalFile(temporary, path, existing);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}
