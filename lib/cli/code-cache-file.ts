import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { crc32 } from 'node:zlib';

// V8 deserializes a code cache as trusted input: release builds check its size and version but
// not its bytes, so a cache someone else could write is code they could run as us. Only a file
// and a directory owned by us that nobody else may write are ever read or written; the payload
// carries a CRC of its own against a torn write (a damaged cache crashed node in a test).
// Everything here fails quietly: the command then compiles its code as it would without a cache.

const MAX_BYTES = 64 << 20;
const MAGIC = 'sshstream-v8-cache 1';

/**
 * The per-user cache directory for sshstream: `$XDG_CACHE_HOME/sshstream` when that is an
 * absolute path, else `~/.cache/sshstream`; undefined where ownership cannot be checked.
 */
export function codeCacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (typeof process.getuid !== 'function') return undefined;
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'sshstream');
}

/**
 * The code cache stored at `path` for `key` (what it must have been made from: the source's
 * hash, node's version...), or undefined when there is none, it is for another key, fails its
 * CRC, or the file or its directory could be written by anyone but us.
 */
export function readCodeCache(path: string, key: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    if (!isPrivate(lstatSync(dirname(path)), true)) return undefined;
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stats = fstatSync(fd);
    if (!isPrivate(stats, false) || stats.size > MAX_BYTES) return undefined;
    const file = readFileSync(fd);
    const end = file.indexOf(10);
    if (end < 0 || end > 1024) return undefined;
    const [magic, fileKey, crc] = file.subarray(0, end).toString('latin1').split('\t');
    const data = file.subarray(end + 1);
    if (magic !== MAGIC || fileKey !== key || crc !== String(crc32(data))) return undefined;
    return data;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Stores `data` as the code cache for `key` at `path` (mode 0600, in a directory created 0700),
 * atomically: a reader sees the old file or the whole new one. Never throws.
 */
export function writeCodeCache(path: string, key: string, data: Buffer): void {
  const dir = dirname(path);
  const temporary = join(dir, `.${process.pid}-${process.hrtime.bigint()}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isPrivate(lstatSync(dir), true)) return;
    const header = Buffer.from(`${MAGIC}\t${key}\t${crc32(data)}\n`, 'latin1');
    writeFileSync(temporary, Buffer.concat([header, data]), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Never created.
    }
  }
}

// Ours, and writable by nobody else; a symbolic link is not followed.
function isPrivate(stats: Stats, directory: boolean): boolean {
  return (
    (directory ? stats.isDirectory() : stats.isFile()) &&
    stats.uid === process.getuid?.() &&
    (stats.mode & 0o022) === 0
  );
}
