import { execFile } from 'node:child_process';
import { cp, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The project root: dist/bench/snapshot.js -> ../.. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Which code was measured. */
export interface Revision {
  commit: string;
  /** Files under lib/, transforms/, bin/ that differ from the commit (work in progress). */
  changed: string[];
}

/**
 * Copies the built CLI (dist/bin, dist/lib with its remote.sh, dist/transforms) into `dir`,
 * with node_modules linked, and returns the CLI's path there.
 * Other people rebuild dist/ and edit lib/ while a long benchmark runs; the copy keeps every
 * run of the benchmark on the same code.
 */
export async function snapshotCli(dir: string): Promise<string> {
  for (const part of ['bin', 'lib', 'transforms']) {
    await cp(join(ROOT, 'dist', part), join(dir, 'dist', part), { recursive: true });
  }
  await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist', 'bin', 'sshstream.js');
}

/** The git commit and the uncommitted source files, so results say what they measured. */
export async function describeRevision(): Promise<Revision> {
  const git = async (...args: string[]): Promise<string> =>
    (await run('git', ['-C', ROOT, ...args]).catch(() => ({ stdout: '' }))).stdout.trimEnd();
  const status = await git('status', '--porcelain', '--', 'lib', 'transforms', 'bin');
  return {
    commit: (await git('rev-parse', '--short', 'HEAD')) || 'unknown',
    changed: status
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3)),
  };
}
