import { cpus, loadavg, release } from 'node:os';
import { sshFlags, type BenchContext } from './context.js';
import { rssMethod, runScript } from './measure.js';

/** Facts about the machine and the connection that make results comparable (or not). */
export interface Environment {
  node: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  loadAverage: number[];
  ssh: string;
  /** Negotiated cipher, as ssh -v reports it. */
  cipher: string;
  /** The tc qdisc on lo (with --link). */
  qdisc: string | undefined;
  netns: string | undefined;
  rssMethod: string;
  cipherPinned: boolean;
}

const firstLine = async (script: string): Promise<string> => {
  const finished = await runScript(script, 20_000);
  return `${finished.stdout}\n${finished.stderr}`.trim().split('\n')[0]?.trim() ?? '';
};

/** Collects the {@link Environment}; never fails (unknown values stay empty). */
export async function describeEnvironment(context: BenchContext): Promise<Environment> {
  const cipherLine = await firstLine(
    `ssh -v ${sshFlags(context)} ${context.host} true 2>&1 | grep 'kex: client->server cipher'`,
  );
  return {
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    ssh: await firstLine('ssh -V'),
    cipher: /cipher: (\S+)/.exec(cipherLine)?.[1] ?? 'unknown',
    qdisc: context.netns ? await firstLine('tc qdisc show dev lo') : undefined,
    netns: context.netns,
    rssMethod: rssMethod(),
    cipherPinned: context.options.cipher !== undefined,
  };
}

/** The environment as markdown lines under the report heading. */
export function environmentLines(environment: Environment, extra: string[]): string[] {
  return [
    `- machine: ${environment.cpus} × ${environment.cpuModel}, Linux ${environment.kernel}, node ${environment.node}, ` +
      `load average at start ${environment.loadAverage.join(' ')}`,
    `- ssh: ${environment.ssh}; cipher of plain ssh: ${environment.cipher}` +
      (environment.cipherPinned
        ? ' (pinned with --cipher for every method)'
        : ' (not pinned: sshstream may pick another, see lib/ssh/cipher.ts; --cipher pins one for all)'),
    environment.netns
      ? `- link: network namespace ${environment.netns}, lo qdisc: \`${environment.qdisc}\``
      : '- link: loopback, unshaped',
    ...extra,
  ];
}
