import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../transforms/which.js';
import { q } from './context.js';
import { namespaceProblem, removeNamespace, removeStaleNamespaces } from './netns.js';
import { configureDevices, linkCounters, type LinkCounters } from './tun-devices.js';

const RELAY = fileURLToPath(new URL('../../bench/tun-relay.py', import.meta.url));
const READY_TIMEOUT_MS = 10_000;
const NAMESPACE_PREFIX = 'sshstream-wan-';

/** A delay link between the root namespace and a namespace of its own (see bench/tun-relay.py). */
export interface TunLink {
  /** The namespace the clients run in. */
  readonly namespace: string;
  /** The root side's address: where the server listens. */
  readonly serverAddress: string;
  /** Sets the one-way delay (RTT = 2 x delay) of packets from now on. */
  setDelay(oneWayMs: number): Promise<void>;
  /** `script` as a bash command that runs inside the namespace. */
  inside(script: string): string;
  counters(): LinkCounters;
  /** Stops the relay (its tun devices go with it) and deletes the namespace. Idempotent. */
  stop(): Promise<void>;
}

// Debian's python3 before a pyenv shim, whose start-up can wait on a stale lock.
const python = (): string | undefined =>
  existsSync('/usr/bin/python3') ? '/usr/bin/python3' : findExecutable('python3');

/** Why the tun link cannot be built here, or undefined when it can. */
export function tunLinkProblem(): string | undefined {
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (python() === undefined) return 'no python3 for the relay';
  return namespaceProblem(['ip']);
}

type Relay = ChildProcessByStdio<Writable, Readable, null>;

// The relay's stdout, line by line: "ready", then "delay N" for each change.
function lineReader(relay: Relay): (expected: string) => Promise<void> {
  const waiting: { expected: string; done: (error?: Error) => void }[] = [];
  const fail = (error: Error): void => waiting.splice(0).forEach((wait) => wait.done(error));
  createInterface({ input: relay.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next === undefined) return;
    next.done(line === next.expected ? undefined : new Error(`tun relay said: ${line}`));
  });
  relay.once('exit', (code) => fail(new Error(`tun relay exited (${code})`)));
  return (expected) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`tun relay: no "${expected}"`)),
        READY_TIMEOUT_MS,
      );
      waiting.push({
        expected,
        done: (error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        },
      });
    });
}

/**
 * Builds the link: a namespace `sshstream-wan-<pid>`, tun devices `sswan<pid>o` (root side,
 * 10.213.x.y) and `sswan<pid>i` (inside, 10.214.x.y), and the relay between them with no delay.
 * If the benchmark dies, the relay sees its stdin close and exits, which removes both devices;
 * an exit hook deletes the namespace.
 */
export async function startTunLink(): Promise<TunLink> {
  removeStaleNamespaces(NAMESPACE_PREFIX);
  const id = process.pid;
  const namespace = `${NAMESPACE_PREFIX}${id}`;
  const [outer, inner] = [`sswan${id}o`, `sswan${id}i`];
  const host = `${(id >> 8) & 255}.${id & 255}`;
  const ends: [string, string] = [`10.213.${host}`, `10.214.${host}`];
  const relay: Relay = spawn(python()!, ['-I', RELAY, outer, inner, '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  relay.stdin.on('error', () => {}); // a relay that died is reported by its exit
  const expect = lineReader(relay);
  const onExit = (): void => {
    relay.kill('SIGKILL');
    removeNamespace(namespace);
  };
  process.on('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (relay.exitCode === null && relay.signalCode === null) {
        const exited = new Promise((resolve) => relay.once('exit', resolve));
        relay.stdin.end();
        const killer = setTimeout(() => relay.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(killer);
      }
      removeNamespace(namespace);
      process.off('exit', onExit);
    })());
  try {
    await expect('ready');
    configureDevices(namespace, outer, inner, ends);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    namespace,
    serverAddress: ends[0],
    setDelay: async (oneWayMs) => {
      const answer = expect(`delay ${oneWayMs}`);
      relay.stdin.write(`${oneWayMs}\n`);
      await answer;
    },
    inside: (script) => `exec ip netns exec ${namespace} bash -c ${q(script)}`,
    counters: () => linkCounters(namespace, outer, inner),
    stop,
  };
}
