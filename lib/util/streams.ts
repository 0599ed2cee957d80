import { availableParallelism } from 'node:os';

/**
 * How many SSH channels carry one file: a count (1 turns parallel transfer off), or 'auto',
 * which picks from the measured round-trip time and the file size. Only an input or output that
 * can be addressed by offset (a regular file) travels in ranges; anything else uses one channel.
 */
export type Streams = number | 'auto';

/** The most channels a transfer opens. */
export const MAX_STREAMS = 16;

const MiB = 1 << 20;
/**
 * Each range of an automatic choice carries at least this much: every lane past the first
 * opens a connection of its own, whose login and TCP start cost several round trips. Measured
 * over the bench's tun link at 100 ms: 32 MiB on 8 lanes of 4 MiB was 0.61x scp, on 1 lane
 * 1.02x; 256 MiB on 4 lanes of 64 MiB 1.7x.
 */
const AUTO_MIN_RANGE = 32 * MiB;
/** Below this size a transfer keeps to one channel unless told otherwise: the gain is small. */
export const AUTO_MIN_BYTES = 2 * AUTO_MIN_RANGE;
/**
 * Below this round-trip time one channel does as well as two: over the bench's tun link,
 * 256 MiB, 3 rounds (2026-12-02), 2 lanes against 1 took a push 0.98x the time at 10 ms, 0.90x
 * at 16 ms, 0.76x at 24 ms (0.73x at 20 ms in another run), a pull into a file 0.91x, 0.94x
 * and 0.88x; 64 MiB at 16 ms, 4 rounds: push 0.92x, pull 1.02x. (Before the ranges of a push
 * were read through reused buffers, 1 lane had been fastest at 20 ms, hence 30 ms until then.)
 * A LAN, a few milliseconds at most, keeps one.
 */
const AUTO_MIN_RTT_MS = 12;

/** The most lanes an automatic choice takes. */
const AUTO_MAX_LANES = 8;

/**
 * The most lanes an automatic push takes on a machine of `cores` cores: two per core, and never
 * fewer than 4. On the bench machine (2 cores, shared with the server) a stock sshd receiving 8
 * lanes spent so much CPU growing its buffers that 8 lanes lost to 4 (256 MiB at 100 ms: 12.3 s
 * against 9.9 s); with that sshd tuned, 8 won (7.7 against 8.5 s; 1 GiB 15.4 against 21.1 s).
 * With the server's sshd pinned to one core and the clients to the other (`--server-cpus 1`),
 * one client core drove 4 lanes past 2 (stock sshd: 8.0 against 10.3 s) and, against the tuned
 * sshd, 8 past 4 (6.0 against 7.1 s): the receiving server decides whether 8 pay, not the
 * sender's cores, and a push cannot see the server, so a small machine keeps 4. Since the
 * range pump, 8 lanes to a stock sshd on both shared cores came within 4% of 4 at 256 MiB
 * (7.8 against 7.5 s) and won at 1 GiB (17.8 against 20.2 s); with that server held to one
 * core they still lost (11.95 against 9.35 s). A pull needs no cap: the sending sshd does not
 * grow its buffers so, and 8 lanes beat 4 with either sshd (1 GiB at 100 ms, tuned: 18.1
 * against 23.4 s; 256 MiB, stock: 9.0 against 9.7 s).
 */
export const pushLaneCap = (cores: number = availableParallelism()): number =>
  Math.min(AUTO_MAX_LANES, Math.max(4, 2 * cores));

/**
 * How many channels to use for `bytes` at a round-trip time of `rttMs`: a requested count wins
 * (but no range is smaller than 1 MiB, the alignment of ranges); 'auto' keeps one below 12 ms
 * or for a file under 64 MiB, and otherwise takes a lane per 12.5 ms of round trip, at least 2
 * (50 ms: 4, 100 ms: 8), at most `cap` (a push: {@link pushLaneCap}), each carrying 32 MiB or more.
 */
export function chooseStreams(
  rttMs: number | undefined,
  bytes: number,
  requested: Streams,
  cap: number = AUTO_MAX_LANES,
): number {
  const most = (rangeBytes: number) => Math.max(1, Math.ceil(bytes / rangeBytes));
  if (requested !== 'auto') return Math.min(requested, most(MiB));
  if (rttMs === undefined || bytes < AUTO_MIN_BYTES || rttMs < AUTO_MIN_RTT_MS) return 1;
  const wanted = Math.min(cap, AUTO_MAX_LANES, Math.max(2, Math.round(rttMs / 12.5)));
  return Math.min(wanted, Math.floor(bytes / AUTO_MIN_RANGE));
}

/**
 * A login (from spawning ssh until it has authenticated) that took this long went over a long
 * link. An automatic push then opens its lanes' connections at once, rather than after the
 * pings that measure the round trip: each takes as long to log in as the first did, while the
 * first lane alone carries the file (over the bench's tun link at 100 ms, 100 MiB: 5.78 s
 * against 6.50 s; 256 MiB: 7.80 against 8.54 s; at 50 ms 5.53 against 5.82 s).
 * On loopback a login took 190-240 ms on the bench machine, idle or both cores busy; at 20 ms
 * 365-375 ms, at 50 ms 634, at 100 ms 1090: some 11 round trips (TCP, key exchange, the
 * key's query and its signature) after about 150 ms of start-up and CPU.
 */
const FAR_LOGIN_MS = 500;
/** A login longer than this more likely waited for a person (a password, a new host key). */
const FAR_LOGIN_MAX_MS = 3000;
const LOGIN_BASE_MS = 150;
const LOGIN_ROUND_TRIPS = 11;

/**
 * The lanes whose connections an automatic transfer of `bytes` opens as soon as its first
 * connection has logged in after `loginMs` (1: none, wait for the measured round trip): those
 * of the round trip that the login suggests, at most `cap`. Those that the measured round trip
 * then does not need are ended (ControlConnection.keepExtras).
 */
export function farLoginLanes(
  loginMs: number,
  bytes: number,
  cap: number = AUTO_MAX_LANES,
): number {
  if (loginMs < FAR_LOGIN_MS || loginMs > FAR_LOGIN_MAX_MS) return 1;
  return chooseStreams((loginMs - LOGIN_BASE_MS) / LOGIN_ROUND_TRIPS, bytes, 'auto', cap);
}
