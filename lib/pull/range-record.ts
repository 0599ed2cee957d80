// A pull in ranges that fails leaves holes in its partial file: its ranges land side by side,
// not one after another. Beside the partial file it records which pieces landed, so a resumed
// run fetches only the rest. The record is trusted only for the very file it was written for
// (same inode, size and modification time) and the same remote file (same size and stamp); the
// digest of the whole file, checked before any commit, catches whatever the record gets wrong.
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { adoptOrphan, ownPartialPath, partialPathOf, takeFile } from './local-partial.js';
import { RANGE_BLOCK, type ByteSpan } from './range-plan.js';

/** The remote file as pull-control saw it. */
export interface RemoteIdentity {
  size: number;
  stamp: string;
}

interface Record {
  ino: number;
  size: number;
  mtimeMs: number;
  remote: RemoteIdentity;
  landed: [number, number][];
}

const recordPathOf = (path: string): string => `${partialPathOf(path)}.ranges`;

/**
 * Takes the partial file a failed pull of `path` left (see local-partial.ts) as this process's
 * own, with the pieces of it that landed whole when its record matches `remote`; none otherwise
 * (the file is then started over). `taken`: there was a partial file.
 */
export async function takeRangedPartial(
  path: string,
  remote: RemoteIdentity,
): Promise<{ own: string; taken: boolean; landed: ByteSpan[] }> {
  const partial = partialPathOf(path);
  const own = ownPartialPath(partial);
  const taken = (await takeFile(partial, own)) || (await adoptOrphan(partial, own));
  const recordPath = recordPathOf(path);
  const record = await readFile(recordPath, 'utf8').then(
    (text) => JSON.parse(text) as Record,
    () => undefined,
  );
  await unlink(recordPath).catch(() => {});
  if (!taken || !record) return { own, taken, landed: [] };
  const held = await stat(own);
  const same =
    record.ino === held.ino &&
    record.size === held.size &&
    record.mtimeMs === held.mtimeMs &&
    record.remote.size === remote.size &&
    record.remote.stamp === remote.stamp;
  const landed = same ? record.landed.map(([start, end]) => ({ start, end })) : [];
  return { own, taken, landed };
}

/**
 * Gives the partial file `own` back under the shared name for the next run, with the record of
 * the pieces in `landed` (written first: the file is findable only once its record is there).
 */
export async function giveBackRanged(
  own: string,
  path: string,
  remote: RemoteIdentity,
  landed: readonly ByteSpan[],
): Promise<void> {
  const held = await stat(own).catch(() => undefined);
  if (!held) return;
  const record: Record = {
    ino: held.ino,
    size: held.size,
    mtimeMs: held.mtimeMs,
    remote,
    landed: landed.filter((span) => span.end > span.start).map((span) => [span.start, span.end]),
  };
  const recordPath = recordPathOf(path);
  const temporary = `${recordPath}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, JSON.stringify(record), { mode: 0o600 })
    .then(() => rename(temporary, recordPath))
    .catch(() => unlink(temporary).catch(() => {}));
  await rename(own, partialPathOf(path)).catch(() => {});
}

/**
 * Whether `path` has a partial file that a pull in one stream through node left: no record of
 * ranges beside it. That one is continued by its prefix (the remote side compares hashes), not
 * in ranges, which would start it over.
 */
export async function hasPlainPartial(path: string): Promise<boolean> {
  const found = async (file: string) =>
    stat(file).then(
      () => true,
      () => false,
    );
  return (await found(partialPathOf(path))) && !(await found(recordPathOf(path)));
}

/** Removes a record left beside `path`'s partial file (its pull finished another way). */
export async function discardRangeRecord(path: string): Promise<void> {
  await unlink(recordPathOf(path)).catch(() => {});
}

/**
 * Where a fetch of `span` starts, given the pieces already `landed`: after the whole 1 MiB
 * blocks of it at its start that landed, or at its end when all of it did.
 */
export function resumePoint(span: ByteSpan, landed: readonly ByteSpan[]): number {
  let reach = span.start;
  for (const piece of [...landed].sort((a, b) => a.start - b.start)) {
    if (piece.start <= reach && piece.end > reach) reach = piece.end;
  }
  if (reach >= span.end) return span.end;
  return span.start + Math.floor((reach - span.start) / RANGE_BLOCK) * RANGE_BLOCK;
}
