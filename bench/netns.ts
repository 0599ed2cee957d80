import { execFileSync, spawn } from 'node:child_process';
import { findExecutable } from '../transforms/which.js';

/** Why `--link` cannot run here (not root, no ip or tc), for a clear one-line message. */
export class LinkUnavailableError extends Error {}

/** Runs `ip ARGS` and returns its stdout; throws when it fails. */
export const ip = (...args: string[]): string =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Creates the network namespace `name` with its `lo` up. */
export function createNamespace(name: string): void {
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

/**
 * Kills what still runs in the namespace (only processes this benchmark started there) and
 * deletes it. Safe to call twice.
 */
export function removeNamespace(name: string): void {
  try {
    for (const pid of ip('netns', 'pids', name).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    ip('netns', 'del', name);
  } catch {
    // already deleted
  }
}

/**
 * Deletes the namespaces named `<prefix><pid>` whose benchmark process is gone: one killed
 * outright (SIGKILL) could not delete its own.
 */
export function removeStaleNamespaces(prefix: string): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0]!;
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
    if (!Number.isInteger(pid)) continue;
    try {
      process.kill(pid, 0);
    } catch {
      removeNamespace(name);
    }
  }
}

/** Why a namespace with `tools` cannot be made here (not root, a tool missing), or undefined. */
export function namespaceProblem(tools: readonly string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (it creates a network namespace)';
  const missing = tools.find((tool) => findExecutable(tool) === undefined);
  return missing === undefined
    ? undefined
    : `needs \`${missing}\`: install iproute2 (apt-get install -y iproute2)`;
}

/**
 * Creates the namespace `sshstream-bench-<pid>` with `lo` up and shaped by `tc tbf` to `rate`,
 * re-runs this benchmark inside it with `--in-netns` (so sshd and every client share the
 * shaped loopback, and no traffic leaves it), and deletes the namespace afterwards, also on
 * error or interrupt. Returns the inner run's exit code.
 */
export async function runInNamespace(
  script: string,
  argv: readonly string[],
  rate: string,
): Promise<number> {
  const problem = namespaceProblem(['ip', 'tc']);
  if (problem !== undefined) throw new LinkUnavailableError(`--link ${problem}`);
  const name = `sshstream-bench-${process.pid}`;
  const cleanup = (): void => removeNamespace(name);
  let child: ReturnType<typeof spawn> | undefined;
  let stoppedBy: NodeJS.Signals | undefined;
  // Installed first, so an early Ctrl-C cannot kill us before the namespace is deleted. The
  // terminal sends Ctrl-C to the child too; it treats a repeat as one.
  const forward = (signal: NodeJS.Signals): void => {
    stoppedBy ??= signal;
    child?.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.on('exit', cleanup);
  try {
    createNamespace(name);
    execFileSync('ip', [
      ...['netns', 'exec', name, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf'],
      ...['rate', rate, 'burst', '256kb', 'latency', '50ms'],
    ]);
    if (stoppedBy) return stoppedBy === 'SIGTERM' ? 143 : 130;
    process.stderr.write(
      `bench: namespace ${name}, lo shaped to ${rate} (tbf burst 256kb latency 50ms)\n`,
    );
    const running = spawn(
      'ip',
      ['netns', 'exec', name, process.execPath, script, ...argv, '--in-netns', name],
      { stdio: 'inherit' },
    );
    child = running;
    return await new Promise<number>((resolve) => {
      running.once('error', (error) => {
        process.stderr.write(`bench: cannot run in namespace: ${error.message}\n`);
        resolve(1);
      });
      running.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGTERM' ? 143 : 130)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    cleanup();
    process.off('exit', cleanup);
  }
}

/** Inside the namespace: its name as `ip netns identify` sees it (a sanity check). */
export function currentNamespace(): string {
  try {
    return ip('netns', 'identify', String(process.pid)).trim();
  } catch {
    return '';
  }
}
