import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../lib/sandbox/sandbox.js';
import { q, sandboxServerEnv, sshFlags, type BenchContext } from './context.js';
import { runScript } from './measure.js';
import type { LinkCounters } from './tun-devices.js';
import { startTunLink, tunLinkProblem, type TunLink } from './tun-link.js';

const PROXY = fileURLToPath(new URL('./delay-proxy.js', import.meta.url));
/** The ssh_config alias of the delayed link. */
export const WAN_HOST = 'wan';

/** Where the `wan` alias goes: through the tun link (real TCP) or the delay proxy. */
export interface WanLink {
  /** How the table title names the link. */
  readonly name: string;
  /** Whether it is the tun link, whose own ceiling gets rows at 0 ms. */
  readonly tun: boolean;
  /** What the link models, for the table's notes. */
  readonly notes: string[];
  /** A context whose `wan` alias has `delayMs` one way, and what wraps its scripts. */
  at(delayMs: number): Promise<{ context: BenchContext; wrap: (script: string) => string }>;
  /** The tun link's drop and retransmission counts so far. */
  counters?: () => LinkCounters;
  stop(): Promise<void>;
}

// The sandbox alias's ssh_config block renamed to `wan`, with `extra` lines first (ssh keeps the
// first value of a keyword, so they override the block's own).
async function wanConfig(context: BenchContext, name: string, extra: string[]): Promise<string> {
  const text = await readFile(context.config, 'utf8');
  const block = text
    .split(/\n(?=Host )/)
    .find((entry) => entry.split('\n')[0]!.trim() === `Host ${context.host}`);
  if (block === undefined) throw new Error(`no Host ${context.host} block in ${context.config}`);
  const lines = block.trimEnd().split('\n').slice(1);
  const path = join(context.work, `${name}.ssh_config`);
  await writeFile(path, [`Host ${WAN_HOST}`, ...extra, ...lines, ''].join('\n'));
  return path;
}

/** `context` with the `wan` alias through bench/delay-proxy.ts (optionally one that stalls). */
export async function proxyContext(
  context: BenchContext,
  delayMs: number,
  stallAfter?: number,
): Promise<BenchContext> {
  const stall = stallAfter === undefined ? '' : ` --stall-after ${stallAfter}`;
  const proxy = `  ProxyCommand ${q(process.execPath)} ${q(PROXY)} --delay ${delayMs}${stall} %h %p`;
  const name = `wan-${delayMs}${stall ? '-stall' : ''}`;
  return { ...context, host: WAN_HOST, config: await wanConfig(context, name, [proxy]) };
}

const PROXY_NOTE =
  'The proxy (bench/delay-proxy.ts, as ssh ProxyCommand) holds every chunk for half the RTT ' +
  'each way and buffers without limit, so the SSH channel window (OpenSSH: 2 MiB) is what ' +
  'limits one channel; TCP windows are not modelled (both legs are loopback).';

// The kernel's TCP buffer limits and congestion control in the root namespace and in the
// link's (stock: the benchmark raises nothing).
function tcpSettings(namespace: string): string {
  const files = ['tcp_wmem', 'tcp_rmem', 'tcp_congestion_control'].map(
    (name) => `/proc/sys/net/ipv4/${name}`,
  );
  const read = (command: string, args: string[]): string[] =>
    execFileSync(command, [...args, ...files], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((value) => value.replace(/\s+/g, ' '));
  const outside = read('cat', []);
  const inside = read('ip', ['netns', 'exec', namespace, 'cat']);
  const where =
    inside.join() === outside.join() ? 'both namespaces' : `inside: ${inside.join(', ')}`;
  const [wmem, rmem, cc] = outside;
  return `tcp_wmem ${wmem}, tcp_rmem ${rmem}, congestion control ${cc} (${where})`;
}

// The tun link, and a sandbox sshd of its own that also listens on the link's root-side
// address; proves that ssh reaches it from inside the namespace.
async function tunWanLink(context: BenchContext): Promise<WanLink> {
  const link: TunLink = await startTunLink();
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await startSandbox({
      sshdConfig: [`ListenAddress ${link.serverAddress}`],
      serverEnv: sandboxServerEnv(context.options),
    });
    const base = { ...context, config: sandbox.configPath, host: sandbox.host };
    const config = await wanConfig(base, 'wan-tun', [`  HostName ${link.serverAddress}`]);
    const wan = { ...base, config, host: WAN_HOST, scratch: sandbox.scratch };
    const probe = await runScript(link.inside(`ssh ${sshFlags(wan)} ${WAN_HOST} true`), 30_000);
    if (probe.exitCode !== 0) {
      throw new Error(`ssh over the tun link failed: ${probe.stderr.trim() || probe.exitCode}`);
    }
    const settings = tcpSettings(link.namespace);
    const pinning = await pinServer(sandbox, context.options.serverCpus);
    const running = sandbox;
    return {
      name: 'a tun delay link (real TCP)',
      tun: true,
      notes: [
        'The link (bench/tun-link.ts, bench/tun-relay.py): clients run in a network namespace ' +
          'of their own; a tun device on each side, and a python relay holds every packet for ' +
          'half the RTT each way. Both TCP stacks are real: the SSH channel window and TCP’s ' +
          'own window (socket buffers) both limit one connection. The 0 ms rows: what ssh gets ' +
          'through the link without delay (the relay alone carries more, see bench/README.md).',
        `TCP settings (the machine's; the benchmark raises nothing): ${settings}.`,
        ...(pinning ? [pinning.note] : []),
      ],
      at: async (delayMs) => {
        await link.setDelay(delayMs);
        const wrap = (script: string) =>
          pinning ? pinning.clients(link.inside(script)) : link.inside(script);
        return { context: wan, wrap };
      },
      counters: () => link.counters(),
      stop: async () => {
        await running.stop();
        await link.stop();
      },
    };
  } catch (error) {
    await sandbox?.stop();
    await link.stop();
    throw error;
  }
}

/**
 * --server-cpus: pins the link's sshd (and so every session it forks) to `cpus`, and gives what
 * wraps the clients' scripts, which pins them to the other CPUs. The relay keeps every CPU: it
 * stands for the network, which is neither end's.
 */
async function pinServer(
  sandbox: Sandbox,
  cpus: readonly number[] | undefined,
): Promise<{ note: string; clients: (script: string) => string } | undefined> {
  if (cpus === undefined) return undefined;
  const pid = (await readFile(join(sandbox.dir, 'sshd.pid'), 'utf8')).trim();
  execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), pid], { stdio: 'ignore' });
  const others = Array.from({ length: availableParallelism() }, (_, cpu) => cpu)
    .filter((cpu) => !cpus.includes(cpu))
    .join(',');
  return {
    note:
      `CPUs split (--server-cpus): the server's sshd and its sessions on CPU ${cpus.join(',')}, ` +
      `the clients on CPU ${others}, the relay on any.`,
    clients: (script) => `exec taskset -c ${others} bash -c ${q(script)}`,
  };
}

/**
 * The link of the `wan` rows: the tun link when this machine can build one (root, /dev/net/tun,
 * ip, python3), else the delay proxy, whose name then says why.
 */
export async function openWanLink(context: BenchContext): Promise<WanLink> {
  let problem = tunLinkProblem();
  if (problem === undefined) {
    try {
      return await tunWanLink(context);
    } catch (error) {
      problem = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    }
  }
  context.log(`wan: no tun link (${problem}); using the delay proxy`);
  if (context.options.serverCpus) context.log('wan: --server-cpus needs the tun link; ignored');
  return {
    name: `a delay proxy (no tun link: ${problem})`,
    tun: false,
    notes: [PROXY_NOTE],
    at: async (delayMs) => ({
      context: await proxyContext(context, delayMs),
      wrap: (script) => script,
    }),
    stop: async () => {},
  };
}
