import { execFile } from 'node:child_process';
import { appendFile, chown, mkdir, readFile, rename, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../../transforms/which.js';

const run = promisify(execFile);

/**
 * The login shells sshstream must work under: `sh` is dash on Debian, `ash` is BusyBox's (as on
 * OpenWrt), `rc` is Plan 9's shell (not POSIX: its quoting differs from all the others).
 */
export const SHELLS = [
  'sh',
  'bash',
  'zsh',
  'ksh',
  'fish',
  'tcsh',
  'ash',
  'mksh',
  'yash',
  'rc',
] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * BusyBox ash as a login shell: a link named `ash` to busybox, as OpenWrt's /bin/ash. sshd runs
 * the shell with argv[0] set to its file name, and busybox picks its applet by that name (as
 * `busybox` it would take `-c` for an applet).
 */
export const ASH_LINK = '/usr/local/lib/sshstream-shells/ash';

/** The absolute path of busybox, or undefined when it is not installed. */
export const findBusybox = (): string | undefined =>
  findExecutable('/bin/busybox') ?? findExecutable('/usr/bin/busybox');

/** A local account the sandbox sshd can log in as. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The absolute path of a shell, or undefined when it is not installed. */
export function shellPath(shell: string): string | undefined {
  if (shell === 'ash') return findBusybox() === undefined ? undefined : ASH_LINK;
  return findExecutable(shell);
}

/** The command line that runs `shell` here (argv[0] first): busybox picks ash by that name. */
export function localShell(shell: string): { file: string; argv0: string } | undefined {
  const busybox = findBusybox();
  if (shell === 'ash') return busybox === undefined ? undefined : { file: busybox, argv0: 'ash' };
  const path = findExecutable(shell);
  return path === undefined ? undefined : { file: path, argv0: shell };
}

// Idempotent and safe against another test file doing the same at the same moment. Listed in
// /etc/shells as on OpenWrt (Dropbear, login and su refuse a shell that is not).
async function installAsh(busybox: string): Promise<void> {
  await mkdir(dirname(ASH_LINK), { recursive: true, mode: 0o755 });
  const temporary = `${ASH_LINK}.${process.pid}`;
  await symlink(busybox, temporary);
  await rename(temporary, ASH_LINK);
  const shells = await readFile('/etc/shells', 'utf8');
  if (!shells.split('\n').includes(ASH_LINK)) {
    await appendFile('/etc/shells', `${shells.endsWith('\n') ? '' : '\n'}${ASH_LINK}\n`);
  }
}

/**
 * Creates (or updates) the account `name` with login shell `shell`, unlocked for key logins
 * (sshd without PAM refuses useradd's locked "!" password). Idempotent, and safe when another
 * test file creates the same account at the same time.
 */
export async function ensureUser(name: string, shell: string): Promise<TestUser> {
  const path = shellPath(shell);
  if (path === undefined) throw new Error(`shell ${shell} is not installed`);
  if (path === ASH_LINK) await installAsh(findBusybox()!);
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
    const child = execFile('chpasswd', (error: Error | null) =>
      error ? reject(error) : resolve(),
    );
    child.stdin!.end(`${name}:${password}\n`);
  });
  return user;
}

/**
 * The shells a remote command runs under, checked locally: the login shells found here, plus
 * dash by name (Debian's sh). sshd runs `LOGIN_SHELL -c COMMAND`.
 */
export const outerShells = (): string[] =>
  [...new Set(['dash', ...SHELLS])].filter((shell) => localShell(shell) !== undefined);

/**
 * What `sh` is on other systems, found here (bash on Fedora, zsh or bash on macOS, ksh, BusyBox
 * ash on OpenWrt and Alpine, mksh on Android): argv to run in its place.
 */
export const shImplementations = (): string[][] =>
  [
    ['dash'],
    ['bash'],
    ['bash', '--posix'],
    ['ksh'],
    ['zsh', '--emulate', 'sh'],
    ['busybox', 'ash'],
    ['mksh'],
  ].filter(([shell]) => shellPath(shell!) !== undefined);
