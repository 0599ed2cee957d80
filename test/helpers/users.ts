import { execFile } from 'node:child_process';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { findExecutable } from '../../lib/which.js';

const run = promisify(execFile);

/** The login shells sshstream must work under (`sh` is dash on Debian). */
export const SHELLS = ['sh', 'bash', 'zsh', 'ksh', 'fish', 'tcsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** A local account the sandbox sshd can log in as. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Skips the test unless running as root (CI is root, so nothing is skipped there). */
export function needsRoot(t: TestContext): boolean {
  if (isRoot()) return true;
  t.skip('needs root');
  return false;
}

/** The absolute path of a shell, or undefined when it is not installed. */
export function shellPath(shell: string): string | undefined {
  return findExecutable(shell);
}

/**
 * Creates (or updates) the account `name` with login shell `shell`, unlocked for key logins
 * (sshd without PAM refuses useradd's locked "!" password). Idempotent, and safe when another
 * test file creates the same account at the same time.
 */
export async function ensureUser(name: string, shell: string): Promise<TestUser> {
  const path = shellPath(shell);
  if (path === undefined) throw new Error(`shell ${shell} is not installed`);
  if (!(await exists(name))) {
    await run('useradd', ['-m', '-s', path, '--', name]).catch(async (error: unknown) => {
      if (!(await exists(name))) throw error;
    });
  }
  await run('usermod', ['-s', path, '-p', '*', '--', name]);
  const [, , uid = '', gid = '', , home = ''] = (await run('getent', ['passwd', name])).stdout
    .trim()
    .split(':');
  await mkdir(home, { recursive: true });
  await chown(home, Number(uid), Number(gid));
  return { name, uid: Number(uid), gid: Number(gid), home, shell: path };
}

/** The `sshstream-<shell>` account for each installed shell of SHELLS (root only). */
export async function ensureShellUsers(prefix = 'sshstream'): Promise<Map<Shell, TestUser>> {
  const users = new Map<Shell, TestUser>();
  for (const shell of SHELLS) {
    if (shellPath(shell) === undefined) continue;
    users.set(shell, await ensureUser(`${prefix}-${shell}`, shell));
  }
  return users;
}

/** A fresh directory `parent/name` owned by `user`, for remote files written as that user. */
export async function userDir(parent: string, name: string, user?: TestUser): Promise<string> {
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true });
  if (user) await chown(dir, user.uid, user.gid);
  return dir;
}

async function exists(name: string): Promise<boolean> {
  return run('id', ['-u', '--', name]).then(
    () => true,
    () => false,
  );
}

/**
 * The account `name` (see ensureUser) with `password` set, for tests of password logins
 * (the sandbox sshd must then allow PasswordAuthentication).
 */
export async function ensurePasswordUser(
  name: string,
  shell: string,
  password: string,
): Promise<TestUser> {
  const user = await ensureUser(name, shell);
  await new Promise<void>((resolve, reject) => {
    const child = execFile('chpasswd', (error) => (error ? reject(error) : resolve()));
    child.stdin!.end(`${name}:${password}\n`);
  });
  return user;
}
