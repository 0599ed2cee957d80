// A long or broken link on loopback, for ssh's ProxyCommand: this kernel has no netem qdisc.
//
//   ProxyCommand node dist/test/helpers/link-proxy.js [--delay MS] [--stall-after BYTES] HOST PORT
//
// Bytes between ssh (stdin/stdout) and HOST:PORT are held --delay ms in each direction (so the
// round trip grows by twice that), in order, with no bandwidth limit: the SSH channel window, not
// the proxy, then limits what is in flight. With --stall-after, once that many bytes have gone
// towards the server both directions go silent while the sockets stay open: a black-holed link,
// which neither end notices by itself.

import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** What the proxy does to the link. */
export interface LinkShape {
  delayMs: number;
  stallAfter: number;
}

// Above this many bytes waiting in one direction the source is paused: memory stays bounded
// even when the far end reads slowly.
const QUEUE_LIMIT = 32 * 1024 * 1024;

/** Parses `[--delay MS] [--stall-after BYTES] HOST PORT`. */
export function parseLinkArgs(argv: readonly string[]): LinkShape & { host: string; port: number } {
  const shape: LinkShape = { delayMs: 0, stallAfter: Infinity };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--delay') shape.delayMs = Number(argv[++i]);
    else if (arg === '--stall-after') shape.stallAfter = Number(argv[++i]);
    else rest.push(arg);
  }
  const [host, port] = rest;
  if (host === undefined || port === undefined || !(shape.delayMs >= 0)) {
    throw new Error('usage: link-proxy [--delay MS] [--stall-after BYTES] HOST PORT');
  }
  return { ...shape, host, port: Number(port) };
}

// One direction of the link: every chunk leaves `delayMs` after it arrived, in order.
function forward(
  from: Readable,
  to: Writable,
  delayMs: number,
  admit: (chunk: Buffer) => Buffer | undefined,
): void {
  let queued = 0;
  from.on('data', (data: Buffer) => {
    const chunk = admit(data);
    if (chunk === undefined || chunk.length === 0) return;
    queued += chunk.length;
    if (queued > QUEUE_LIMIT) from.pause();
    setTimeout(() => {
      queued -= chunk.length;
      to.write(chunk);
      if (queued <= QUEUE_LIMIT) from.resume();
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}

/** Runs the proxy between this process's stdin/stdout and the server. */
export function runLinkProxy(shape: LinkShape, server: Socket): void {
  let sent = 0;
  let stalled = false;
  const upstream = (chunk: Buffer): Buffer | undefined => {
    if (stalled) return undefined;
    const room = shape.stallAfter - sent;
    sent += chunk.length;
    if (chunk.length < room) return chunk;
    stalled = true;
    return chunk.subarray(0, Math.max(0, room));
  };
  const downstream = (chunk: Buffer): Buffer | undefined => (stalled ? undefined : chunk);
  forward(process.stdin, server, shape.delayMs, upstream);
  forward(server, process.stdout, shape.delayMs, downstream);
  server.on('error', () => process.exit(1));
  process.stdout.on('error', () => process.exit(0));
  server.on('close', () => setTimeout(() => process.exit(0), shape.delayMs + 10));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { host, port, ...shape } = parseLinkArgs(process.argv.slice(2));
  const server = connect({ host, port, noDelay: true });
  server.once('connect', () => runLinkProxy(shape, server));
  server.once('error', (error) => {
    process.stderr.write(`link-proxy: ${error.message}\n`);
    process.exit(1);
  });
}
