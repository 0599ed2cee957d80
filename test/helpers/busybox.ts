import { appendFile, chmod, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureUser, type TestUser } from './users.js';

/**
 * The applets an OpenWrt image's BusyBox has by default (package/utils/busybox). Deliberately
 * absent, as there: od, stat, cksum, sha1sum, timeout, base64, xxd, hexdump.
 */
export const OPENWRT_APPLETS = [
  ...['sh', 'ash', '[', '[[', 'test', 'echo', 'printf', 'true', 'false', 'kill', 'sleep'],
  ...['cat', 'cp', 'dd', 'mv', 'rm', 'rmdir', 'mkdir', 'mkfifo', 'mknod', 'mktemp', 'ln'],
  ...['ls', 'chmod', 'chown', 'chgrp', 'touch', 'sync', 'tee', 'df', 'du', 'readlink'],
  ...['sed', 'awk', 'grep', 'egrep', 'fgrep', 'tr', 'cut', 'wc', 'head', 'tail', 'sort', 'uniq'],
  ...['md5sum', 'sha256sum', 'gzip', 'gunzip', 'zcat', 'tar'],
  ...['date', 'env', 'expr', 'basename', 'dirname', 'seq', 'xargs', 'find', 'which', 'yes'],
  ...['ps', 'pgrep', 'pidof', 'killall', 'pwd', 'uname', 'nice', 'time', 'dmesg'],
];

/** Where the applet symlinks live: the whole PATH of the BusyBox user. */
export const OPENWRT_BIN = '/usr/local/lib/sshstream-openwrt/bin';
/** The BusyBox user's login shell: `busybox sh` with PATH set to {@link OPENWRT_BIN}. */
export const BUSYBOX_LOGIN_SHELL = '/usr/local/bin/sshstream-busybox-sh';

// Dropbear does not read ~/.profile for a command, nor does any sshd set PATH from it, so the
// login shell itself sets PATH (as OpenWrt's dropbear does with its compiled-in default).
const WRAPPER = `#!/bin/busybox sh
PATH=${OPENWRT_BIN}
export PATH
exec /bin/busybox sh "$@"
`;

export { findBusybox } from './users.js';

// Idempotent and safe against another test file doing the same at the same moment.
async function installShell(): Promise<void> {
  await mkdir(OPENWRT_BIN, { recursive: true, mode: 0o755 });
  for (const applet of OPENWRT_APPLETS) {
    await symlink('/bin/busybox', join(OPENWRT_BIN, applet)).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
  }
  const current = await readFile(BUSYBOX_LOGIN_SHELL, 'utf8').catch(() => '');
  if (current !== WRAPPER) {
    const temporary = `${BUSYBOX_LOGIN_SHELL}.${process.pid}`;
    await writeFile(temporary, WRAPPER, { mode: 0o755 });
    await chmod(temporary, 0o755);
    await rename(temporary, BUSYBOX_LOGIN_SHELL);
  }
  // Dropbear (like login and su) refuses an account whose shell /etc/shells does not list.
  const shells = await readFile('/etc/shells', 'utf8');
  if (!shells.split('\n').includes(BUSYBOX_LOGIN_SHELL)) {
    await appendFile('/etc/shells', `${shells.endsWith('\n') ? '' : '\n'}${BUSYBOX_LOGIN_SHELL}\n`);
  }
}

/**
 * The account `name` (default `sshstream-busybox`) whose login shell is `busybox sh` and whose
 * PATH holds only OpenWrt's default applets (root only).
 */
export async function ensureBusyboxUser(name = 'sshstream-busybox'): Promise<TestUser> {
  await installShell();
  return ensureUser(name, BUSYBOX_LOGIN_SHELL);
}
