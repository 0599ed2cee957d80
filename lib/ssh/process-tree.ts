import { readdirSync, readFileSync } from 'node:fs';

/** What killSsh needs of a spawned ssh (an execa child is one). */
interface Killable {
  readonly pid?: number | undefined;
  kill(signal?: NodeJS.Signals): boolean;
}

/**
 * Sends `signal` to an ssh process and to every process it started. OpenSSH stops its
 * ProxyCommand when it exits by itself, but not when a signal ends it while it connects: the
 * proxy would run on (one waiting on a silent host, for good). Where there is no /proc, only ssh
 * gets the signal.
 */
export function killSsh(child: Killable, signal: NodeJS.Signals = 'SIGTERM'): void {
  // Found first: once ssh is gone they are another parent's.
  const started = child.pid === undefined ? [] : descendantsOf(child.pid);
  child.kill(signal);
  for (const pid of started) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/** The processes `pid` started, and the ones they started, from /proc (none without it). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(entry);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const visit = (at: number) => {
    for (const child of children.get(at) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** The parent of `pid`, from /proc/PID/stat (its command field may hold spaces and ')'). */
export function parentOf(pid: number | string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}
