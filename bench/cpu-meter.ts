import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * CPU-seconds of a measured command and of everything the sandbox sshd ran for it (its
 * sessions, the remote script and its tools, background loops that outlived their parent).
 * With root and a cgroup hierarchy that accounts CPU (v2, or v1's cpuacct), sshd and each
 * measured command join a cgroup of their own, whose counter includes every descendant and
 * nothing else on the machine. Otherwise, /proc/stat: all CPUs' busy time, which counts
 * whatever else runs on the machine too.
 */
export interface CpuMeter {
  /** `cgroup v2`, `cgroup v1 cpuacct` or `/proc/stat (whole machine)`. */
  readonly method: string;
  /** bash that moves the measured script into the cgroup first ('' for /proc/stat). */
  readonly join: string;
  /** CPU-seconds used so far. */
  read(): Promise<number>;
  /** Waits until the command's processes on both ends have ended (sshd's sessions included). */
  settle(): Promise<void>;
  /** Moves sshd back out and removes the cgroup. */
  close(): Promise<void>;
}

const SETTLE_MS = 10_000;

// Where a CPU-accounting cgroup can be made: a cgroup2 mount, or the v1 hierarchy with cpuacct.
async function cgroupRoot(): Promise<{ root: string; v2: boolean } | undefined> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const rows = mounts.split('\n').map((line) => line.split(' '));
  const v2 = rows.find((row) => row[2] === 'cgroup2');
  if (v2?.[1]) return { root: v2[1], v2: true };
  const v1 = rows.find((row) => row[2] === 'cgroup' && row[3]?.split(',').includes('cpuacct'));
  return v1?.[1] ? { root: v1[1], v2: false } : undefined;
}

async function cgroupMeter(sshdPid: number): Promise<CpuMeter | undefined> {
  const found = await cgroupRoot();
  if (!found || process.getuid?.() !== 0) return undefined;
  const dir = join(found.root, `sshstream-bench-${process.pid}`);
  try {
    await mkdir(dir);
    await writeFile(join(dir, 'cgroup.procs'), `${sshdPid}\n`);
  } catch {
    await rmdir(dir).catch(() => {});
    return undefined;
  }
  const read = async (): Promise<number> => {
    if (!found.v2) return Number(await readFile(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9;
    const stat = await readFile(join(dir, 'cpu.stat'), 'utf8');
    return Number(/^usage_usec (\d+)$/m.exec(stat)?.[1]) / 1e6;
  };
  const members = async (): Promise<string[]> =>
    (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
  return {
    method: found.v2 ? 'cgroup v2' : 'cgroup v1 cpuacct',
    join: `echo $$ > ${dir}/cgroup.procs;`,
    read,
    async settle() {
      const until = Date.now() + SETTLE_MS;
      while (Date.now() < until && (await members()).some((pid) => pid !== String(sshdPid))) {
        await delay(50);
      }
    },
    async close() {
      const parent = join(found.root, 'cgroup.procs');
      for (const pid of await members().catch(() => [])) {
        await writeFile(parent, `${pid}\n`).catch(() => {});
      }
      await rmdir(dir).catch(() => {});
    },
  };
}

// All CPUs' busy time (user, nice, system, irq, softirq, steal), from the clock ticks.
async function machineBusySeconds(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const ticks = [user, nice, system, irq, softirq, steal].reduce((a = 0, b = 0) => a + b, 0) ?? 0;
  return ticks / 100;
}

/** The meter for the sshd whose pid is given (see {@link CpuMeter}). */
export async function openCpuMeter(sshdPid: number | undefined): Promise<CpuMeter> {
  const cgroup = sshdPid === undefined ? undefined : await cgroupMeter(sshdPid);
  if (cgroup) return cgroup;
  return {
    method: '/proc/stat (whole machine)',
    join: '',
    read: machineBusySeconds,
    // The remote script's background loops end within a quarter second of their session.
    settle: () => delay(500),
    close: async () => {},
  };
}

/**
 * The pid of the sandbox sshd started with `sshdConfig` (a child of this process), found in
 * /proc; undefined when there is none (another system).
 */
export async function sandboxSshdPid(sshdConfig: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    // sshd rewrites its command line ("sshd: /usr/sbin/sshd -D -f FILE [listener] ...").
    if (ppid === process.pid && cmdline.includes(sshdConfig)) return Number(entry);
  }
  return undefined;
}
