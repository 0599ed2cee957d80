// A broken link on loopback, for ssh's ProxyCommand (this kernel has no netem qdisc):
//
//   ProxyCommand node dist/test/helpers/link-proxy.js [--stall-after BYTES] [--once FILE] [--report FILE]
//                [--tag T] HOST PORT
//
// Bytes flow between ssh (stdin/stdout) and HOST:PORT. With --stall-after, once that many
// bytes have passed (both directions together) both directions go silent while every socket
// stays open: a black-holed link, which neither end notices by itself. With --once FILE only
// the first connection (the one that creates FILE) stalls: the link "comes back" for a retry.
// --report FILE: the time (ms since the epoch) the link went silent is appended to FILE.
//
// `node --test dist/test/` runs every file under it, this one too, without arguments: then it
// does nothing at all.

import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';

/** What the proxy does to the link. */
export interface LinkShape {
  host: string;
  port: number;
  stallAfter: number;
  once: string | undefined;
  report: string | undefined;
}

/** Parses `[--stall-after BYTES] [--once FILE] HOST PORT`. */
export function parseLinkArgs(argv: readonly string[]): LinkShape {
  let stallAfter = Infinity;
  let once: string | undefined;
  let report: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--stall-after') stallAfter = Number(argv[++i]);
    else if (arg === '--once') once = argv[++i];
    else if (arg === '--report') report = argv[++i];
    else if (arg === '--tag')
      i++; // only marks the process, for whoever looks for it
    else rest.push(arg);
  }
  const [host, port] = rest;
  if (host === undefined || port === undefined || !(stallAfter >= 0)) {
    throw new Error(
      'usage: link-proxy [--stall-after BYTES] [--once FILE] [--report FILE] HOST PORT',
    );
  }
  return { host, port: Number(port), stallAfter, once, report };
}

/** Runs the proxy between this process's stdin/stdout and HOST:PORT. */
export function runLinkProxy(shape: LinkShape): void {
  let stallAfter = shape.stallAfter;
  if (shape.once !== undefined) {
    if (existsSync(shape.once)) stallAfter = Infinity;
    else writeFileSync(shape.once, `${process.pid}\n`);
  }
  const server = connect({ host: shape.host, port: shape.port, noDelay: true });
  let passed = 0;
  // Forwards what fits before the stall; after it, reads on (so nobody blocks) and drops.
  const admit = (chunk: Buffer): Buffer | undefined => {
    const room = stallAfter - passed;
    if (room <= 0) return undefined;
    passed += chunk.length;
    if (chunk.length < room) return chunk;
    if (shape.report !== undefined) appendFileSync(shape.report, `${Date.now()}\n`);
    return chunk.subarray(0, room);
  };
  process.stdin.on('data', (data: Buffer) => {
    const chunk = admit(data);
    if (chunk?.length) server.write(chunk);
  });
  server.on('data', (data: Buffer) => {
    const chunk = admit(data);
    if (chunk?.length) process.stdout.write(chunk);
  });
  process.stdin.on('end', () => server.end());
  server.on('end', () => process.stdout.end());
  server.on('error', (error) => {
    process.stderr.write(`link-proxy: ${error.message}\n`);
    process.exit(1);
  });
  server.on('close', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.length > 2) runLinkProxy(parseLinkArgs(process.argv.slice(2)));
}
