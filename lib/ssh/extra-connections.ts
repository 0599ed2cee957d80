import { cancellableDelay } from '../util/delay.js';
import { debug } from '../util/debug.js';
import type { SshProcess } from './command.js';
import type { ControlConnection } from './control-connection.js';
import { watchSocket } from './control-socket.js';
import { killSsh } from './process-tree.js';

// Why more than one connection: the channels of one connection share its TCP connection, and
// on a long link TCP's own window (Linux: tcp_wmem at most 4 MiB by default) caps it at about
// 25 MiB/s at 100 ms, however many channels ride it. Each extra connection brings a window of
// its own. It costs the user nothing only where it logs in without asking (a key or an agent),
// so it never asks (BatchMode); where it cannot log in that way, its lane rides the master,
// and where ssh has nothing to log in with unasked (mayLogInUnasked), none is tried.
//
// A connection is never cut off while it logs in, save on an abort: the server counts every
// connection that ends before it has authenticated, and OpenSSH 9.8+ (PerSourcePenalties, on
// by default) refuses every connection from an address that has left enough of them (16 s of
// penalty: 16 connections cut off before their login, one second each), the user's own ssh
// included. So a lane found unneeded while it logs in ends once it has logged in. A failed
// login costs five seconds there: where the first login may have asked the user (a password
// after a key the server refused), one lane tries before the others.

// How long closing waits for a lane's login to settle before it ends the connection anyway.
const LOGIN_SETTLE_MS = 10_000;

/**
 * The connections beside a transfer's master, one for each further lane of a transfer in
 * ranges (lane 0 rides the master). All open at once, so no lane waits longer than one login.
 */
export class ExtraConnections {
  private readonly masters: SshProcess[] = [];
  private readonly sockets: Promise<string | undefined>[];
  private closed = false;
  // Each lane's latest master, and the lanes the transfer turned out not to need (trim).
  private readonly laneMasters = new Map<number, SshProcess>();
  private readonly unneeded = new Set<number>();
  // The masters that have logged in: they may end at any time.
  private readonly loggedIn = new Set<SshProcess>();
  // Lane 1's connection: where the master's login may have asked, the others wait for it.
  private firstLane: Promise<string | undefined> | undefined;

  /**
   * `masterLoggedIn`, for connections opened while the master itself still logs in (see
   * ControlConnection.openExtras): one that fails before then may have failed on what that
   * login settles (a host key the user is asked to accept there), so it tries once more after.
   */
  constructor(
    private readonly control: ControlConnection,
    lanes: number,
    masterLoggedIn?: Promise<void>,
  ) {
    this.sockets = Array.from({ length: Math.max(0, lanes - 1) }, (_, index) =>
      this.start(index + 1, masterLoggedIn),
    );
  }

  private start(lane: number, masterLoggedIn?: Promise<void>): Promise<string | undefined> {
    const socket = this.open(lane, masterLoggedIn);
    if (lane === 1) this.firstLane = socket;
    return socket;
  }

  private async open(lane: number, masterLoggedIn?: Promise<void>): Promise<string | undefined> {
    let loggedIn = false;
    void masterLoggedIn?.then(() => (loggedIn = true));
    if (!(await this.control.extrasMayLogIn())) {
      debug(`lane ${lane}: rides the master (no key or agent would log in without asking)`);
      return undefined;
    }
    // Where the master's login may have asked the user, the others wait for lane 1's: a key
    // the server refuses (the user then typed a password) would fail for each lane alike.
    if (lane > 1 && (await this.control.extrasProbeFirst())) {
      if ((await this.firstLane) === undefined) {
        debug(`lane ${lane}: rides the master (lane 1 could not log in unasked)`);
        return undefined;
      }
    }
    // Closed or trimmed while ssh's settings were read: nothing may start now.
    if (this.closed || this.unneeded.has(lane)) return undefined;
    const socket = await this.attempt(`lane-${lane}`, lane);
    if (socket !== undefined || masterLoggedIn === undefined || loggedIn) return socket;
    await masterLoggedIn;
    // A retry must not outlive the transfer: none once closing, or once the master has ended.
    if (this.closed || this.unneeded.has(lane) || !this.control.acceptsSessions) return undefined;
    return this.attempt(`lane-${lane}-again`, lane);
  }

  private attempt(name: string, lane: number): Promise<string | undefined> {
    const { master, socket } = this.control.spawnExtraMaster(name);
    this.masters.push(master);
    this.laneMasters.set(lane, master);
    return new Promise((resolve) => {
      let up = false;
      const exited = master.then((exit) => {
        if (up) return;
        debug(
          this.closed || this.unneeded.has(lane)
            ? `lane ${lane}: ended unused`
            : `lane ${lane}: rides the master (no connection of its own: ssh exit ${exit.exitCode})`,
        );
        resolve(undefined);
      });
      watchSocket(socket, exited, () => {
        up = true;
        this.loggedIn.add(master);
        // Trimmed or closed while it logged in: it ends now that it has.
        if (this.closed || this.unneeded.has(lane)) {
          debug(`lane ${lane}: logged in, ended unused`);
          killSsh(master);
          resolve(undefined);
          return;
        }
        debug(`lane ${lane}: a connection of its own`);
        resolve(socket);
      });
    });
  }

  /**
   * The ControlPath that lane `lane` rides: its own connection's once that has logged in, or
   * undefined (the master's) for lane 0, where a connection could not log in without asking,
   * and once `giveUp` settles first (every range taken: nothing left to wait for).
   */
  socketOf(lane: number, giveUp: Promise<unknown>): Promise<string | undefined> {
    const socket = this.sockets[lane - 1] ?? Promise.resolve(undefined);
    return Promise.race([socket, giveUp.then(() => undefined)]);
  }

  /**
   * Ends the connections of lanes `lanes` and up, which a transfer in `lanes` lanes will not
   * use: at once those logged in, the others once they have (most are still logging in), and
   * none starts that has not yet; close() waits for them with the rest.
   */
  trim(lanes: number): void {
    // Lanes whose login has not started yet (ssh's settings still being read) included.
    for (let lane = Math.max(1, lanes); lane <= this.sockets.length; lane++) {
      this.unneeded.add(lane);
    }
    for (const [lane, master] of this.laneMasters) {
      if (lane >= lanes && this.loggedIn.has(master)) killSsh(master);
    }
  }

  /** Opens the connections of lanes up to `lanes` that it has none for yet. */
  grow(lanes: number): void {
    if (this.closed) return;
    for (let lane = this.sockets.length + 1; lane < lanes; lane++) {
      this.sockets.push(this.start(lane));
    }
  }

  /**
   * Ends every extra connection (their sessions have ended) and waits until they exit: those
   * still logging in once they have, or have failed, within LOGIN_SETTLE_MS; with `now` (an
   * abort) all at once.
   */
  async close(now = false): Promise<void> {
    this.closed = true;
    for (const master of this.masters) {
      if (master.exitCode === null && (now || this.loggedIn.has(master))) killSsh(master);
    }
    const settle = cancellableDelay(LOGIN_SETTLE_MS);
    await Promise.race([Promise.allSettled(this.masters), settle.promise]);
    settle.cancel();
    for (const master of this.masters) {
      if (master.exitCode === null) killSsh(master);
    }
    await Promise.allSettled(this.masters);
  }
}
