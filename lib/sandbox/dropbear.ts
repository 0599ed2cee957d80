// The Dropbear flavour of the sandbox: the server OpenWrt, DietPi and many NAS images run.
// Dropbear has no AuthorizedKeysFile option: it reads ~/.ssh/authorized_keys of the login user.
// So that a sandbox never edits a real account's keys (nor races another sandbox doing so), it
// runs in a private mount namespace where the sandbox's own .ssh directory is bound over the
// user's ~/.ssh: only that Dropbear and its sessions see it. That needs root on Linux.
import { execFile } from 'node:child_process';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFirst } from './binaries.js';

const run = promisify(execFile);

/** A command line that starts a server in the foreground. */
export interface ServerCommand {
  command: string;
  args: string[];
}

/** The absolute path of the Dropbear server, or `undefined` when it is not installed. */
const findDropbear = (): string | undefined =>
  findFirst(['/usr/sbin/dropbear', '/usr/local/sbin/dropbear', '/sbin/dropbear'], 'dropbear');

// Names exactly what is missing, and how to get it, before any file is written.
const requireTool = (path: string | undefined, what: string): string => {
  if (path === undefined) throw new Error(`dropbear sandbox: ${what}`);
  return path;
};

/** The Dropbear binaries and `unshare`; throws one line naming what is missing. */
export function findDropbearTools(): { dropbear: string; dropbearkey: string; unshare: string } {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      'dropbear sandbox: needs root on Linux (it binds its authorized_keys over the login ' +
        "user's ~/.ssh in a private mount namespace)",
    );
  }
  return {
    dropbear: requireTool(
      findDropbear(),
      'dropbear not found: install it with `apt-get install dropbear-bin`',
    ),
    dropbearkey: requireTool(
      findFirst(['/usr/bin/dropbearkey', '/usr/local/bin/dropbearkey'], 'dropbearkey'),
      'dropbearkey not found: install it with `apt-get install dropbear-bin`',
    ),
    unshare: requireTool(
      findFirst(['/usr/bin/unshare', '/bin/unshare'], 'unshare'),
      'unshare not found: install util-linux',
    ),
  };
}

/**
 * Writes a fresh ed25519 host key in Dropbear's format (`dir/host_ed25519_key`) and returns its
 * public half as `"ssh-ed25519 AAAA..."`, for known_hosts.
 */
export async function writeDropbearHostKey(dropbearkey: string, dir: string): Promise<string> {
  const path = join(dir, 'host_ed25519_key');
  await run(dropbearkey, ['-t', 'ed25519', '-f', path]);
  const { stdout } = await run(dropbearkey, ['-y', '-f', path]);
  const line = stdout.split('\n').find((text) => text.startsWith('ssh-ed25519 '));
  if (line === undefined) throw new Error(`dropbearkey -y printed no public key: ${stdout}`);
  return line.split(' ').slice(0, 2).join(' ');
}

/**
 * Prepares the `.ssh` directory bound over the user's (holding `authorizedKey`) and makes sure
 * the user's `~/.ssh` exists as a mount point (created empty, mode 0700, when missing).
 */
export async function writeDropbearKeys(
  dir: string,
  authorizedKey: string,
  user: { uid: number; gid: number; home: string },
): Promise<void> {
  const dotSsh = join(dir, 'dot-ssh');
  await mkdir(dotSsh, { mode: 0o755 });
  await writeFile(join(dotSsh, 'authorized_keys'), authorizedKey, { mode: 0o644 });
  const target = join(user.home, '.ssh');
  const created = await mkdir(target, { mode: 0o700 }).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return false;
      throw error;
    },
  );
  if (created) await chown(target, user.uid, user.gid);
}

/** The user's home directory, from the passwd database (what Dropbear itself reads). */
export async function homeOf(name: string): Promise<string> {
  const { stdout } = await run('getent', ['passwd', '--', name]);
  const home = stdout.trim().split(':')[5];
  if (!home) throw new Error(`dropbear sandbox: user ${name} has no home directory`);
  return home;
}

/**
 * The command that runs Dropbear in the foreground on 127.0.0.1:`port`, logging to stderr, keys
 * only, in its own mount namespace with `dir/dot-ssh` bound over `home/.ssh`. `exec` keeps one
 * pid from unshare to Dropbear, so the pid file names the process we spawned.
 */
export function dropbearCommand(
  tools: { dropbear: string; unshare: string },
  dir: string,
  port: number,
  home: string,
): ServerCommand {
  const script = 'mount --bind "$1" "$2" && exec "$3" -F -E -s -m -r "$4" -P "$5" -p "$6"';
  return {
    command: tools.unshare,
    args: [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      'sh',
      join(dir, 'dot-ssh'),
      join(home, '.ssh'),
      tools.dropbear,
      join(dir, 'host_ed25519_key'),
      join(dir, 'sshd.pid'),
      `127.0.0.1:${port}`,
    ],
  };
}
