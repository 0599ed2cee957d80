import { createNamespace, ip } from './netns.js';

// The relay is a process that a busy machine can deschedule for tens of milliseconds; the
// default 500-packet device queue then drops bursts a real link's router would buffer.
const TX_QUEUE_LEN = '10000';

/** What the link did to the traffic so far. */
export interface LinkCounters {
  /** Packets the devices dropped (the relay's queue full). */
  dropped: number;
  /** TCP segments retransmitted from inside the namespace (the clients' side). */
  retransmitted: number;
}

// Packets a device dropped on its way to the relay, from `ip -s -j link`.
const txDropped = (json: string): number =>
  (JSON.parse(json) as { stats64: { tx: { dropped: number } } }[])[0]!.stats64.tx.dropped;

// TCP RetransSegs of the namespace, from the header and value lines of /proc/net/snmp.
function retransmittedInside(namespace: string): number {
  const text = ip('netns', 'exec', namespace, 'cat', '/proc/net/snmp');
  const [header, values] = text.split('\n').filter((line) => line.startsWith('Tcp:'));
  const index = header?.split(/\s+/).indexOf('RetransSegs') ?? -1;
  return Number(values?.split(/\s+/)[index]);
}

/**
 * Moves the inner device into a new namespace and gives both ends their point-to-point
 * addresses: `ends` is [outside, inside].
 */
export function configureDevices(
  namespace: string,
  outer: string,
  inner: string,
  ends: [string, string],
): void {
  const [server, client] = ends;
  createNamespace(namespace);
  ip('link', 'set', inner, 'netns', namespace);
  ip('addr', 'add', server, 'peer', client, 'dev', outer);
  ip('link', 'set', outer, 'txqueuelen', TX_QUEUE_LEN, 'up');
  ip('-n', namespace, 'addr', 'add', client, 'peer', server, 'dev', inner);
  ip('-n', namespace, 'link', 'set', inner, 'txqueuelen', TX_QUEUE_LEN, 'up');
}

/** What the link's devices dropped and the namespace's TCP retransmitted so far. */
export const linkCounters = (namespace: string, outer: string, inner: string): LinkCounters => ({
  dropped:
    txDropped(ip('-s', '-j', 'link', 'show', 'dev', outer)) +
    txDropped(ip('-n', namespace, '-s', '-j', 'link', 'show', 'dev', inner)),
  retransmitted: retransmittedInside(namespace),
});
