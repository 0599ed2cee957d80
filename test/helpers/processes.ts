import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeArgument } from '../../lib/remote/script.js';
import type { Sandbox } from '../../lib/sandbox/sandbox.js';

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
  const children = new Map<number, number[]>();
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    parents.set(Number(entry), ppid);
  }
  const found: ProcessInfo[] = [];
  for (let queue = [root]; queue.length > 0;) {
    const next = queue.flatMap((pid) => children.get(pid) ?? []);
    for (const pid of next) {
      const argv = read(`/proc/${pid}/cmdline`).split('\0').slice(0, -1);
      if (argv.length > 0) found.push({ pid, ppid: parents.get(pid) ?? 0, argv });
    }
    queue = next;
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
