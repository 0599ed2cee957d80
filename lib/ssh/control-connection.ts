import { rm } from 'node:fs/promises';
import { cancellableDelay } from '../util/delay.js';
import { debug } from '../util/debug.js';
import type { SshStreamError } from '../util/errors.js';
import { classifyFailure, type SshExit } from './failure.js';
import { savedScriptPath } from '../remote/script.js';
import type { Report, ReportReader } from '../remote/reports.js';
import type { ControlParts } from './control-parts.js';
import { spawnRidingSession, type SessionOptions } from './riding-session.js';
import { spawnExtraMaster } from './extra-master.js';
import type { SshProcess } from './command.js';
import { effectiveSshConfig } from './config.js';
import { ExtraConnections } from './extra-connections.js';
import { killSsh } from './process-tree.js';
import { loginMayHaveAsked, mayLogInUnasked } from './unasked-login.js';
import { mayPrompt } from './terminal.js';
import { farLoginLanes } from '../util/streams.js';

// How long we wait for the remote side to confirm an abort before giving up on it.
const ABORT_TIMEOUT_MS = 5000;

/**
 * One authenticated ssh connection per transfer: an OpenSSH ControlMaster (private socket, no
 * persistence) whose own session runs the remote control script. Further sessions (the data
 * stream) ride the same connection, so the user authenticates once; where the server allows
 * only one session per connection, they connect on their own if that needs no question (see
 * rider.ts). The control script owns the remote temporary file: it commits on our word and
 * removes the file on anything else, including EOF when we or the connection die.
 *
 * Opened by openControlConnection (open-control.ts). This class talks to the control script
 * and keeps the connection's lifetime (loss, abort, close); the sessions that ride it are
 * spawned in riding-session.ts and extra-master.ts.
 */
export class ControlConnection {
  readonly tag: string;
  /** The control script's `ready` report (its field: the size of a partial file to resume). */
  ready: Report = { word: 'ready', fields: [] };
  /** How long the master took to log in, in ms (0 riding the user's master, or unseen). */
  loginMs = 0;
  readonly stderr: ReportReader;
  readonly exited: Promise<SshExit>;
  private exit: SshExit | undefined;
  private readonly sessions: SshProcess[] = [];
  // The remote copy of the script for sessions whose stdin is not a pipe (see saveScript).
  private savedScript: string | undefined;
  // Set once endSessions or close has run: no new connection may start after that.
  private ending = false;
  // Connections opened beside the master while it logged in (openExtras), until taken.
  private early: ExtraConnections | undefined;

  // The control script reads its commands once it has said `ready`; before that, head may still
  // be reading the script itself, in blocks, and would take a command with it (see
  // buildControlCommand). Sends wait for it, in order.
  private readonly scriptRead: Promise<unknown>;

  /** For openControlConnection (open-control.ts), which spawns the master and waits for it. */
  constructor(private readonly parts: ControlParts) {
    this.tag = parts.tag;
    this.stderr = parts.stderr;
    this.exited = parts.exited;
    void this.exited.then((exit) => (this.exit = exit));
    this.scriptRead = parts.stdout.next(['ready']);
  }

  /**
   * Resolves when the control session's output ends: the control script exited (or the
   * connection went), even while other sessions keep the ssh master running.
   */
  get sessionEnded(): Promise<void> {
    return this.parts.stdout.ended;
  }

  /**
   * Reports the connection lost: resolves with the failure once the control script ends while
   * `needed()` (nothing can be committed without it), after ending the sessions that would
   * keep the master going; resolves undefined when it ends once no longer needed.
   */
  async lost(needed: () => boolean): Promise<SshStreamError | undefined> {
    await this.sessionEnded;
    if (!needed()) return undefined;
    this.endSessions();
    const exit = await this.exited;
    return needed() ? classifyFailure(exit, this.stderr, this.parts.params.context) : undefined;
  }

  /** Ends every session riding this connection, so the master can exit. */
  endSessions(): void {
    this.ending = true;
    for (const session of this.sessions) killSsh(session);
  }

  /** True once the transfer's signal has aborted it. */
  get aborted(): boolean {
    return this.parts.params.signal?.aborted === true;
  }

  /** False once the connection is ending: nothing new should start on it or beside it. */
  get acceptsSessions(): boolean {
    return !this.ending && this.alive;
  }

  /**
   * Opens the connections of a transfer in `lanes` ranges now, instead of once the transfer has
   * begun: beside a master that is still logging in (openControlConnection, for a push of a
   * count the user gave; `loggedIn` resolves once the master has), or once connected (a pull,
   * once it knows the size). The transfer takes them with {@link takeExtras}; close() ends
   * them otherwise.
   */
  openExtras(lanes: number, loggedIn?: Promise<void>): void {
    this.early ??= new ExtraConnections(this, lanes, loggedIn);
  }

  /**
   * For a transfer whose lanes an automatic choice picks once it has timed the round trip (a
   * file of `bytes`, at most `cap` lanes): opens their connections now when the master's login
   * was long, a far host (see farLoginLanes); the transfer then fits them to the lanes it
   * chooses (keepExtras).
   */
  openLanesAfterLongLogin(bytes: number, cap?: number): void {
    const lanes = farLoginLanes(this.loginMs, bytes, cap);
    if (lanes < 2) return;
    debug(`control: a far host: ${lanes} lanes log in now`);
    this.openExtras(lanes);
  }

  /** The connections openExtras opened, once: the caller closes them from then on. */
  takeExtras(): ExtraConnections | undefined {
    const early = this.early;
    this.early = undefined;
    return early;
  }

  /**
   * Fits the connections openExtras opened to a transfer in `lanes` lanes: ends those it will
   * not use (all of them for one lane; one still logging in once it has: see
   * ExtraConnections.trim), and opens those it lacks (more lanes than a long login suggested).
   * Whoever closes them (the transfer that takes them, or close()) waits until they have exited.
   */
  keepExtras(lanes: number): void {
    this.early?.trim(lanes);
    this.early?.grow(lanes);
  }

  /**
   * True when the login shell printed nothing on the control session's stdout before the
   * script's reports: a session's stdout then carries the script's bytes alone (its startup
   * files run the same for every session), so ssh may write it straight into a local file.
   */
  get quietLogin(): boolean {
    return this.parts.stdout.silent;
  }

  /** True until the master ssh process has exited. */
  get alive(): boolean {
    return this.exit === undefined;
  }

  /**
   * Has the control script save a private copy of the remote script beside `path` (removed when
   * it exits), for a session whose stdin is a local file: it cannot get the script on stdin.
   */
  async saveScript(path: string): Promise<void> {
    await this.request('script', ['script']);
    this.savedScript = savedScriptPath(path, this.tag);
  }

  /**
   * Starts another session over this connection (or the extra connection at `socket`) running
   * the remote script with `remoteArgs`. With stdin a pipe the script goes first on it; otherwise
   * the saved copy runs (saveScript).
   */
  spawnSession(
    remoteArgs: readonly string[],
    options: SessionOptions,
    socket?: string,
  ): SshProcess {
    const session = spawnRidingSession(this.parts, this.savedScript, remoteArgs, options, socket);
    this.sessions.push(session);
    return session;
  }

  /**
   * False when another connection to this host could only log in by asking (see
   * mayLogInUnasked): then no extra connection is tried.
   */
  async extrasMayLogIn(): Promise<boolean> {
    const { destination, ssh } = this.parts.params;
    return mayLogInUnasked(await effectiveSshConfig(destination, ssh));
  }

  /**
   * True when the master's login may have needed the user (see loginMayHaveAsked): whether
   * another connection logs in unasked is then for one lane to find out before the others try
   * (ExtraConnections).
   */
  async extrasProbeFirst(): Promise<boolean> {
    const { destination, ssh } = this.parts.params;
    return loginMayHaveAsked(await effectiveSshConfig(destination, ssh), mayPrompt());
  }

  /**
   * Spawns the master of another connection to the same host (see spawnExtraMaster), its socket
   * `name` in this connection's private directory; sessions ride it through spawnSession's `socket`.
   */
  spawnExtraMaster(name: string): { master: SshProcess; socket: string } {
    const extra = spawnExtraMaster(this.parts, name);
    // Like a session: endSessions() ends it, so the main master can exit.
    this.sessions.push(extra.master);
    return extra;
  }

  /**
   * Sends `line`, the control script's last command, and hands its output over: the session's
   * stdout from its next byte on (no longer read for reports), its stderr, and the master as the
   * process whose exit is the script's. A pull carried by the control session itself uses this.
   */
  handOver(line: string): SshProcess {
    this.parts.stdout.detach();
    this.send(line);
    return this.parts.master;
  }

  /** Sends one command line to the control script; no reply expected. */
  send(line: string): void {
    void this.scriptRead.then(() => this.parts.master.stdin?.write(line + '\n'));
  }

  /** Sends one command line to the control script and waits for one of `words` in reply. */
  async request(line: string, words: readonly string[]): Promise<Report> {
    debug(`control: request ${line}`);
    const from = this.parts.stdout.reports.length;
    this.send(line);
    const reply = await this.parts.stdout.next(words, from);
    debug(`control: reply ${reply?.word}`);
    if (reply) return reply;
    this.endSessions();
    throw classifyFailure(await this.exited, this.stderr, this.parts.params.context);
  }

  /**
   * The round trip of the link in milliseconds: the least of two pings (the first may carry a
   * scheduling delay on either end, which on a loaded machine could pass for a long link).
   */
  async roundTrip(): Promise<number> {
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      await this.request('ping', ['pong']);
      best = Math.min(best, performance.now() - started);
    }
    return best;
  }

  /** Asks the remote side to remove the temporary file (or keep it, to resume later), then closes. Never throws. */
  async abort(keep = false): Promise<void> {
    if (this.alive) {
      const timer = cancellableDelay(ABORT_TIMEOUT_MS);
      const request = keep ? this.request('keep', ['kept']) : this.request('abort', ['aborted']);
      await Promise.race([request.catch(() => undefined), timer.promise]);
      timer.cancel();
    }
    await this.close();
  }

  /** Ends the control session, waits for ssh to exit (killing it if it lingers) and cleans up. */
  async close(): Promise<SshExit> {
    this.ending = true;
    await this.takeExtras()?.close(this.aborted);
    this.parts.master.stdin?.end();
    const timer = cancellableDelay(ABORT_TIMEOUT_MS);
    const exit = await Promise.race([this.exited, timer.promise]);
    timer.cancel();
    if (!exit) killSsh(this.parts.master, 'SIGKILL');
    debug('control: closed');
    await rm(this.parts.dir, { recursive: true, force: true });
    return this.exited;
  }

  /** Kills the master at once (its remote side then cleans up on EOF). */
  kill(): void {
    killSsh(this.parts.master);
  }
}
