import { createHash } from 'node:crypto';
import { access, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** md5 of a local file, hex. */
export async function md5File(path: string): Promise<string> {
  return createHash('md5')
    .update(await readFile(path))
    .digest('hex');
}

/** md5 of a buffer, hex. */
export const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

/** Names of sshstream temporary files left in `dir` (there should never be any after a run). */
export async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes('.sshstream-'));
}

/** Whether `path` exists (for a file a test expects gone, or there). */
export const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function waitFor(
  predicate: () => Promise<boolean> | boolean,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Writes an executable sh script `dir/name` (a wrapper around ssh, say) and returns its path. */
export async function writeScript(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}`, { mode: 0o755 });
  return path;
}

/**
 * An ssh wrapper that turns every "a" into "b" in the data a session sends, for the sessions
 * whose arguments match the shell `pattern` (others run ssh as it is): corruption the transport
 * did not catch. The session's stdin carries the remote script up to an empty line first; it
 * is left intact (perl keeps every other byte as it is).
 */
export function writeCorruptingSsh(dir: string, pattern: string): Promise<string> {
  return writeScript(
    dir,
    'corrupting-ssh',
    `case "$*" in ${pattern}) perl -pe '$d and tr/a/b/; $d ||= /^$/' | ssh "$@" ;; *) exec ssh "$@" ;; esac\n`,
  );
}

/**
 * The bytes a resumable transfer to `dir/name` has landed so far: it writes into a partial file
 * of its own (.NAME.sshstream-ID.partial) and gives it back under the shared name when it fails.
 */
export async function landedSize(dir: string, name: string): Promise<number> {
  let size = 0;
  for (const file of await readdir(dir)) {
    if (!file.startsWith(`.${name}.sshstream-`) || !file.endsWith('partial')) continue;
    size = Math.max(size, (await stat(join(dir, file)).catch(() => undefined))?.size ?? 0);
  }
  return size;
}

/**
 * An ssh wrapper that lets through about 3 MiB/s of what a session sends, for the sessions whose
 * arguments match the shell `pattern` (others run ssh as it is): a transfer that lasts seconds
 * however fast the machine, so a test sees it at work.
 */
export function writeSlowSsh(dir: string, pattern: string): Promise<string> {
  const throttle =
    'process.stdin.on("data", (c) => { process.stdin.pause(); ' +
    'process.stdout.write(c, () => setTimeout(() => process.stdin.resume(), 20)); })';
  return writeScript(
    dir,
    'slow-ssh',
    `case "$*" in ${pattern}) '${process.execPath}' -e '${throttle}' | ssh "$@" ;; *) exec ssh "$@" ;; esac\n`,
  );
}
