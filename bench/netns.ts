import { execFileSync, spawn } from 'node:child_process';
import { findExecutable } from '../transforms/which.js';

/** Why `--link` cannot run here (not root, no ip or tc), for a clear one-line message. */
export class LinkUnavailableError extends Error {}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

// Kills what still runs in the namespace (only processes this benchmark started there) and
// deletes it. Safe to call twice.
function removeNamespace(name: string): void {
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

/** Checks that a shaped link can be built here; throws {@link LinkUnavailableError} if not. */
function assertLinkAvailable(): void {
  if (process.getuid?.() !== 0) {
    throw new LinkUnavailableError(
      '--link needs root (it creates a network namespace and a tc qdisc); run as root or drop --link',
    );
  }
  for (const tool of ['ip', 'tc']) {
    if (findExecutable(tool) === undefined) {
      throw new LinkUnavailableError(
        `--link needs \`${tool}\`: install iproute2 (apt-get install -y iproute2)`,
      );
    }
  }
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
  assertLinkAvailable();
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
    ip('netns', 'add', name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
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
