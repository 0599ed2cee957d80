import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debug } from '../util/debug.js';

// A Unix socket's path holds at most 103 bytes (macOS; 107 on Linux), and ssh first binds
// ControlPath plus a 17-byte random suffix: under a long $TMPDIR the socket could not be
// created, so the private directory (mode 0700, like any mkdtemp) goes under /tmp instead.
const SOCKET_PATH_MAX = 103;

/** A fresh private directory for one ControlMaster's socket. */
export function controlDirectory(): Promise<string> {
  const base = tmpdir();
  const longest = join(base, 'sshstream-XXXXXX', 'control').length + 17;
  return mkdtemp(join(longest <= SOCKET_PATH_MAX ? base : '/tmp', 'sshstream-'));
}

/** The ControlPath of the private master whose directory is `dir`. */
export function controlSocket(dir: string): string {
  return join(dir, 'control');
}

/**
 * Calls `found` once the control socket appears: ssh creates it once it has authenticated, and
 * from then on further sessions can ride the connection, even before the control script has
 * said it is ready. Stops by itself when the master exits.
 */
export function watchSocket(
  path: string,
  exited: Promise<unknown>,
  found: () => void,
): { stop: () => void } {
  let done = false;
  const stop = () => {
    done = true;
    clearInterval(timer);
  };
  const timer = setInterval(() => {
    if (done || !existsSync(path)) return;
    stop();
    debug('control: connected');
    found();
  }, 5);
  void exited.then(stop);
  return { stop };
}
