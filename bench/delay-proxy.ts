// A long link on loopback, for ssh's ProxyCommand (this kernel has no netem qdisc):
//
//   ProxyCommand node dist/bench/delay-proxy.js --delay MS [--stall-after BYTES] HOST PORT
//
// Every chunk is held MS ms in each direction (RTT = 2 x MS) and then forwarded in order. The
// proxy reads as fast as either side writes, so it adds latency but no window of its own: what
// limits a transfer through it is the SSH channel window (2 MiB per channel for OpenSSH), which
// is exactly the limit of a long real link that parallel channels work around. (TCP's own
// window is hidden: both TCP legs run on loopback.) With --stall-after, once that many bytes
// have passed (both directions together) the link goes silent while every socket stays open.
//
// Without arguments (as `node --test` might load it) it does nothing.

import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** What the proxy does to the link. */
export interface DelayShape {
  host: string;
  port: number;
  /** One-way delay, ms. */
  delayMs: number;
  stallAfter: number;
}

/** Parses `--delay MS [--stall-after BYTES] HOST PORT`. */
export function parseDelayArgs(argv: readonly string[]): DelayShape {
  let delayMs = 0;
  let stallAfter = Infinity;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--delay') delayMs = Number(argv[++i]);
    else if (arg === '--stall-after') stallAfter = Number(argv[++i]);
    else rest.push(arg);
  }
  const [host, port] = rest;
  if (host === undefined || port === undefined || !(delayMs >= 0) || !(stallAfter >= 0)) {
    throw new Error('usage: delay-proxy --delay MS [--stall-after BYTES] HOST PORT');
  }
  return { host, port: Number(port), delayMs, stallAfter };
}

// One direction of the link: chunks wait in arrival order until their time has come. One timer
// per direction (the head's), not one per chunk.
function delayedWriter(out: Writable, delayMs: number): (chunk: Buffer) => void {
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) out.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.due - now);
  };
  return (chunk) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    timer ??= setTimeout(flush, delayMs);
  };
}

/** Runs the proxy between this process's stdin/stdout and HOST:PORT. */
export function runDelayProxy(shape: DelayShape): void {
  const server = connect({ host: shape.host, port: shape.port, noDelay: true });
  let passed = 0;
  // What may still pass before the stall; after it, reads go on (nobody blocks) and are dropped.
  const admit = (chunk: Buffer): Buffer | undefined => {
    const room = shape.stallAfter - passed;
    if (room <= 0) return undefined;
    passed += chunk.length;
    return chunk.length < room ? chunk : chunk.subarray(0, room);
  };
  const toServer = delayedWriter(server, shape.delayMs);
  const toClient = delayedWriter(process.stdout, shape.delayMs);
  process.stdin.on('data', (data: Buffer) => {
    const chunk = admit(data);
    if (chunk?.length) toServer(chunk);
  });
  server.on('data', (data: Buffer) => {
    const chunk = admit(data);
    if (chunk?.length) toClient(chunk);
  });
  // An end travels the link like data does.
  process.stdin.on('end', () => setTimeout(() => server.end(), shape.delayMs + 1));
  server.on('end', () => setTimeout(() => process.stdout.end(), shape.delayMs + 1));
  server.on('error', (error) => {
    process.stderr.write(`delay-proxy: ${error.message}\n`);
    process.exit(1);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.length > 2) runDelayProxy(parseDelayArgs(process.argv.slice(2)));
}
