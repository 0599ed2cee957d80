import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeArgument } from '../../lib/remote/script.js';
import type { Sandbox } from '../../lib/sandbox/sandbox.js';
import { descendantsOf, parentOf } from '../../lib/ssh/process-tree.js';

/** A running process: its pid, parent and argv. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

/**
 * The processes descending from `root`, read from /proc. Tests kill only these, by pid: never
 * by name, which would hit processes that are not ours.
 */
export function descendants(root: number): ProcessInfo[] {
  return descendantsOf(root).flatMap((pid) => {
    const argv = read(`/proc/${pid}/cmdline`).split('\0').slice(0, -1);
    const ppid = parentOf(pid);
    return argv.length > 0 && ppid !== undefined ? [{ pid, ppid, argv }] : [];
  });
}

/** Processes whose argv mentions `token` (a test's ProxyCommand, and ssh given it), not this one. */
export function processesWith(token: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (read(`/proc/${entry}/cmdline`).includes(token)) found.push(Number(entry));
  }
  return found;
}

/** The pid of the sandbox's listening sshd (its sessions descend from it). */
export function sandboxPid(sandbox: Sandbox): number {
  return Number(read(join(sandbox.dir, 'sshd.pid')).trim());
}

/** Sessions of the sandbox: processes under its sshd whose argv matches. */
export function remoteProcesses(
  sandbox: Sandbox,
  matches: (argv: string[]) => boolean,
): ProcessInfo[] {
  return descendants(sandboxPid(sandbox)).filter((info) => matches(info.argv));
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The remote script's own process for one operation on one path (its forks carry the same
 * argv, so the one whose parent is not one of them), and the processes it runs.
 */
export function remoteSession(
  sandbox: Sandbox,
  operation: string,
  path: string,
): { script: ProcessInfo | undefined; children: ProcessInfo[] } {
  const op = encodeArgument(operation);
  const where = encodeArgument(path);
  const matching = remoteProcesses(sandbox, (argv) => argv.includes(op) && argv.includes(where));
  const pids = new Set(matching.map((info) => info.pid));
  const script = matching.find((info) => !pids.has(info.ppid));
  return { script, children: script ? descendants(script.pid) : [] };
}
