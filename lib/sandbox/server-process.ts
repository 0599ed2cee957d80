import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { ServerCommand } from './dropbear.js';

const KILL_AFTER_MS = 3_000;
const STDERR_LIMIT = 64 * 1024;

/** A running server process, its exit and its stderr so far. */
export interface Sshd {
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

/**
 * Spawns the server, with `env` added to ours; its stderr is kept (the last 64 KiB). Unref'd so
 * a forgotten sandbox never holds the process open; the exit hook kills it instead.
 */
export const launchServer = (
  { command, args }: ServerCommand,
  env: Record<string, string> = {},
): Sshd => {
  const child = spawn(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      stderr += error.message;
      resolve();
    });
  });
  child.unref();
  (child.stderr as Socket | null)?.unref();
  return { child, exited, stderr: () => stderr };
};

/** True once the process has exited or was killed. */
export const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

// The listener's exit leaves sessions (and the commands they run) alive, so find them in /proc.
const descendantPids = (root: number): number[] => {
  const children = new Map<number, number[]>();
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readFileSafe(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  let generation = [root];
  while (generation.length > 0) {
    generation = generation.flatMap((pid) => children.get(pid) ?? []);
    found.push(...generation);
  }
  return found;
};

const readdirSafe = (path: string): string[] => {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
};

const readFileSafe = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * Sends `listenerSignal` to the listener and SIGTERM to every session it spawned. Signals the
 * listener and every session it spawned; processes already gone are fine.
 */
export const signalAll = (sshd: Sshd, listenerSignal: NodeJS.Signals): void => {
  const sessions = sshd.child.pid === undefined ? [] : descendantPids(sshd.child.pid);
  sshd.child.kill(listenerSignal);
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
  }
};

/** Stops the server and its sessions (SIGKILL if it lingers) and waits for its exit. */
export const terminate = async (sshd: Sshd): Promise<void> => {
  if (!hasExited(sshd.child)) {
    sshd.child.ref();
    signalAll(sshd, 'SIGTERM');
    const timer = setTimeout(() => sshd.child.kill('SIGKILL'), KILL_AFTER_MS);
    await sshd.exited;
    clearTimeout(timer);
  }
  sshd.child.stderr?.destroy();
};
