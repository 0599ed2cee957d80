import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cancellableDelay } from '../util/delay.js';
import { debug } from '../util/debug.js';
import { RIDER_OPTIONS, RIDER_SPAWN } from './rider.js';
import type { ErrorContext, SshStreamError } from '../util/errors.js';
import { classifyFailure, type SshExit } from './failure.js';
import {
  buildRemoteCommand,
  buildSavedScriptCommand,
  savedScriptPath,
  SCRIPT_INPUT,
} from '../remote/script.js';
import type { Report, ReportReader } from '../remote/reports.js';
import { controlSocket } from './control-socket.js';
import {
  buildSshInvocation,
  spawnSsh,
  type SshDestination,
  type SshOptions,
  type SshProcess,
} from './command.js';

/** What opening a control connection needs. */
export interface ControlParams {
  destination: SshDestination;
  ssh: SshOptions;
  /** Operation and arguments of the remote control script (after the tag). */
  remoteArgs: readonly string[];
  context: ErrorContext;
  /** The stall timeout in ms (0: off), for ssh's keep-alives and ConnectTimeout. */
  stallTimeout: number;
  /** Aborting kills the master, even while it connects or authenticates. */
  signal?: AbortSignal | undefined;
}

/** A spawned master and what its sessions need (see openControlConnection). */
export interface ControlParts {
  params: ControlParams;
  /** The private directory of the master's socket (removed on close). */
  dir: string;
  master: SshProcess;
  stdout: ReportReader;
  stderr: ReportReader;
  tag: string;
  exited: Promise<SshExit>;
  /** ssh options every session repeats: cipher, keep-alives, the config's session options. */
  sessionArgs: readonly string[];
  /** Riding the user's own running master (see hasUserMaster) instead of a private one. */
  ridesUserMaster: boolean;
}

// How long we wait for the remote side to confirm an abort before giving up on it.
const ABORT_TIMEOUT_MS = 5000;

/**
 * One authenticated ssh connection per transfer: an OpenSSH ControlMaster (private socket, no
 * persistence) whose own session runs the remote control script. Further sessions (the data
 * stream) ride the same connection, so the user authenticates once; where the server allows
 * only one session per connection, they connect on their own if that needs no question (see
 * rider.ts). Opened by openControlConnection (open-control.ts). The control script owns the remote temporary file: it commits on our word and
 * removes the file on anything else, including EOF when we or the connection die.
 */
export class ControlConnection {
  readonly tag: string;
  /** The control script's `ready` report (its field: the size of a partial file to resume). */
  ready: Report = { word: 'ready', fields: [] };
  readonly stderr: ReportReader;
  readonly exited: Promise<SshExit>;
  private exit: SshExit | undefined;
  private readonly sessions: SshProcess[] = [];
  // The remote copy of the script for sessions whose stdin is not a pipe (see saveScript).
  private savedScript: string | undefined;

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
    for (const session of this.sessions) session.kill('SIGTERM');
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
   * Starts another session over this connection running the remote script with `remoteArgs`.
   * With stdin a pipe the script goes first on it; otherwise the saved copy runs (saveScript).
   */
  spawnSession(
    remoteArgs: readonly string[],
    options: Parameters<typeof spawnSsh>[1],
    socket?: string,
  ): SshProcess {
    const piped = options.stdin === 'pipe';
    if (!piped && this.savedScript === undefined) throw new Error('saveScript() first');
    const args = [this.tag, ...remoteArgs];
    // Over the master (or the extra connection at `socket`); should the server refuse it a
    // session there (MaxSessions 1), ssh connects on its own, never asking (rider.ts), through
    // the same -J as the master.
    const path = socket ?? (this.parts.ridesUserMaster ? undefined : controlSocket(this.parts.dir));
    const invocation = buildSshInvocation(
      this.parts.params.destination,
      this.parts.params.ssh,
      [
        ...this.parts.sessionArgs,
        ...RIDER_OPTIONS,
        ...(path === undefined ? [] : ['-o', `ControlPath=${path}`]),
      ],
      piped ? buildRemoteCommand(args) : buildSavedScriptCommand(this.savedScript!, args),
    );
    const session = spawnSsh(invocation, { ...options, ...RIDER_SPAWN });
    if (piped) {
      session.stdin?.on('error', () => {});
      session.stdin?.write(SCRIPT_INPUT);
    }
    this.sessions.push(session);
    return session;
  }

  /**
   * Spawns a master of another connection to the same host, with a login of its own that
   * never asks (BatchMode, no terminal: rider.ts); its socket `name` goes in this connection's
   * private directory. Sessions ride it through spawnSession's `socket`. Its own session only
   * reads its stdin, a pipe from us: should we die (SIGKILL), the pipe closes and the
   * connection ends with it, as the control script's does.
   */
  spawnExtraMaster(name: string): { master: SshProcess; socket: string } {
    const socket = join(this.parts.dir, name);
    const invocation = buildSshInvocation(
      this.parts.params.destination,
      this.parts.params.ssh,
      [
        ...this.parts.sessionArgs,
        ...['-o', 'BatchMode=yes', '-o', 'ControlMaster=yes'],
        ...['-o', `ControlPath=${socket}`, '-o', 'ControlPersist=no'],
      ],
      'cat >/dev/null',
    );
    // No pipe but stdin: a ProxyCommand inherits ssh's stderr, and one left running after ssh
    // (killed while it connects) would hold that pipe open, and the wait for ssh, for good.
    const master = spawnSsh(invocation, {
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'ignore',
      ...RIDER_SPAWN,
    });
    // Like a session: endSessions() ends it, so the main master can exit.
    this.sessions.push(master);
    return { master, socket };
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
    this.parts.master.stdin?.end();
    const timer = cancellableDelay(ABORT_TIMEOUT_MS);
    const exit = await Promise.race([this.exited, timer.promise]);
    timer.cancel();
    if (!exit) this.parts.master.kill('SIGKILL');
    debug('control: closed');
    await rm(this.parts.dir, { recursive: true, force: true });
    return this.exited;
  }

  /** Kills the master at once (its remote side then cleans up on EOF). */
  kill(): void {
    this.parts.master.kill('SIGTERM');
  }
}
