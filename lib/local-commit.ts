import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The last step of every local atomic write: `mode` on the temporary file, its data on disk
 * (fsync), the rename over `path`, and the rename itself on disk (fsync of the directory), the
 * same steps the remote side takes. `mode` undefined keeps what the file was created with.
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
 * The mode a new file gets in `directory` (0666 less the umask and any default ACL), found by
 * creating one: `process.umask()` can only read the mask by changing it.
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
