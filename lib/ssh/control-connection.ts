import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abortErrorFor } from '../util/abort.js';
import { fastCipherOptions } from './cipher.js';
import { debug } from '../util/debug.js';
import { keepAliveOptions } from './keep-alive.js';
import { sessionOptions } from './session-options.js';
import { RIDER_OPTIONS, RIDER_SPAWN } from './rider.js';
import { hasUserMaster } from './user-master.js';
import type { ErrorContext, SshStreamError } from '../util/errors.js';
import { classifyFailure, type SshExit } from './failure.js';
import {
  buildRemoteCommand,
  buildSavedScriptCommand,
  savedScriptPath,
  SCRIPT_INPUT,
} from '../remote/script.js';
import { newReportTag } from '../remote/report-tag.js';
import { ReportReader, type Report } from '../remote/reports.js';
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

// How long we wait for the remote side to confirm an abort before giving up on it.
const ABORT_TIMEOUT_MS = 5000;

/**
 * One authenticated ssh connection per transfer: an OpenSSH ControlMaster (private socket, no
 * persistence) whose own session runs the remote control script. Further sessions (the data
 * stream) ride the same connection, so the user authenticates once; where the server allows
 * only one session per connection, they connect on their own if that needs no question (see
 * rider.ts). The control script owns the remote temporary file: it commits on our word and
 * removes the file on anything else, including EOF when we or the connection die.
 */
export class ControlConnection {
  readonly tag: string;
  /** The control script's `ready` report (its field: the size of a partial file to resume). */
  ready: Report = { word: 'ready', fields: [] };
  private exit: SshExit | undefined;
  private readonly sessions: SshProcess[] = [];
  // The remote copy of the script for sessions whose stdin is not a pipe (see saveScript).
  private savedScript: string | undefined;
  // Riding the user's own running master (see hasUserMaster) instead of a private one.
  private ridesUserMaster = false;

  private constructor(
    private readonly params: ControlParams,
    private readonly dir: string,
    private readonly master: SshProcess,
    private readonly stdout: ReportReader,
    readonly stderr: ReportReader,
    tag: string,
    readonly exited: Promise<SshExit>,
    // A session over the master is another ssh client that reads the config (sessionOptions),
    // and one that may connect on its own (see rider.ts): the cipher and keep-alives go too.
    private readonly sessionArgs: readonly string[],
  ) {
    this.tag = tag;
    void exited.then((exit) => (this.exit = exit));
  }

  /** Connects, authenticates and waits until the control script says it is ready. */
  static async open(
    params: ControlParams,
    onConnected?: (connection: ControlConnection) => void,
  ): Promise<ControlConnection> {
    const tag = newReportTag();
    const dir = await controlDirectory();
    const [cipher, keepAlive, session, shared] = await Promise.all([
      fastCipherOptions(params.destination, params.ssh),
      keepAliveOptions(params.destination, params.ssh, params.stallTimeout),
      sessionOptions(params.destination, params.ssh),
      hasUserMaster(params.destination, params.ssh),
    ]);
    const invocation = buildSshInvocation(
      params.destination,
      params.ssh,
      [
        ...cipher,
        ...keepAlive,
        ...session,
        ...(shared
          ? RIDER_OPTIONS
          : [
              '-o',
              'ControlMaster=yes',
              '-o',
              `ControlPath=${join(dir, 'control')}`,
              '-o',
              'ControlPersist=no',
            ]),
      ],
      buildRemoteCommand([tag, ...params.remoteArgs]),
    );
    if (params.signal?.aborted) {
      await rm(dir, { recursive: true, force: true });
      throw abortErrorFor(params.signal, params.context);
    }
    debug('control: spawning ssh master');
    // Riding the user's master, this is a rider like any data session; else it may ask.
    const master = spawnSsh(invocation, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      ...(shared ? RIDER_SPAWN : {}),
    });
    // ssh itself only gives up on a silent server after ConnectTimeout, or never while a
    // prompt waits: an abort must not wait for that.
    const stopOnAbort = () => master.kill('SIGTERM');
    params.signal?.addEventListener('abort', stopOnAbort, { once: true });
    master.stdin?.on('error', () => {});
    master.stdin?.write(SCRIPT_INPUT);
    const stdout = new ReportReader(tag, master.stdout);
    const stderr = new ReportReader(tag, master.stderr);
    const exited = settle(master, stdout, stderr);
    void exited.then(() => params.signal?.removeEventListener('abort', stopOnAbort));
    const connection = new ControlConnection(params, dir, master, stdout, stderr, tag, exited, [
      ...cipher,
      ...keepAlive,
      ...session,
    ]);
    connection.ridesUserMaster = shared;
    // The user's master has authenticated already: sessions can ride it at once.
    if (shared) onConnected?.(connection);
    const watching =
      onConnected && !shared
        ? watchSocket(join(dir, 'control'), exited, () => onConnected(connection))
        : undefined;
    const ready = await stdout.next(['ready']);
    watching?.stop();
    if (!ready) {
      // Sessions already riding the connection keep the master alive: end them first.
      connection.endSessions();
      const exit = await exited;
      await rm(dir, { recursive: true, force: true });
      if (params.signal?.aborted) throw abortErrorFor(params.signal, params.context);
      throw classifyFailure(exit, stderr, params.context, stdout.lastLine);
    }
    debug('control: remote side ready');
    connection.ready = ready;
    return connection;
  }

  /**
   * Resolves when the control session's output ends: the control script exited (or the
   * connection went), even while other sessions keep the ssh master running.
   */
  get sessionEnded(): Promise<void> {
    return this.stdout.ended;
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
    return needed() ? classifyFailure(exit, this.stderr, this.params.context) : undefined;
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
  spawnSession(remoteArgs: readonly string[], options: Parameters<typeof spawnSsh>[1]): SshProcess {
    const piped = options.stdin === 'pipe';
    if (!piped && this.savedScript === undefined) throw new Error('saveScript() first');
    const args = [this.tag, ...remoteArgs];
    // Over the master; should the server refuse it a session there (MaxSessions 1), ssh
    // connects on its own, never asking (rider.ts), through the same -J as the master.
    const invocation = buildSshInvocation(
      this.params.destination,
      this.params.ssh,
      [
        ...this.sessionArgs,
        ...RIDER_OPTIONS,
        ...(this.ridesUserMaster ? [] : ['-o', `ControlPath=${join(this.dir, 'control')}`]),
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
   * Sends `line`, the control script's last command, and hands its output over: the session's
   * stdout from its next byte on (no longer read for reports), its stderr, and the master as the
   * process whose exit is the script's. A pull carried by the control session itself uses this.
   */
  handOver(line: string): SshProcess {
    this.stdout.detach();
    this.send(line);
    return this.master;
  }

  /** Sends one command line to the control script; no reply expected. */
  send(line: string): void {
    this.master.stdin?.write(line + '\n');
  }

  /** Sends one command line to the control script and waits for one of `words` in reply. */
  async request(line: string, words: readonly string[]): Promise<Report> {
    debug(`control: request ${line}`);
    const from = this.stdout.reports.length;
    this.send(line);
    const reply = await this.stdout.next(words, from);
    debug(`control: reply ${reply?.word}`);
    if (reply) return reply;
    this.endSessions();
    throw classifyFailure(await this.exited, this.stderr, this.params.context);
  }

  /** Asks the remote side to remove the temporary file (or keep it, to resume later), then closes. Never throws. */
  async abort(keep = false): Promise<void> {
    if (this.alive) {
      const timer = delay(ABORT_TIMEOUT_MS);
      const request = keep ? this.request('keep', ['kept']) : this.request('abort', ['aborted']);
      await Promise.race([request.catch(() => undefined), timer.promise]);
      timer.cancel();
    }
    await this.close();
  }

  /** Ends the control session, waits for ssh to exit (killing it if it lingers) and cleans up. */
  async close(): Promise<SshExit> {
    this.master.stdin?.end();
    const timer = delay(ABORT_TIMEOUT_MS);
    const exit = await Promise.race([this.exited, timer.promise]);
    timer.cancel();
    if (!exit) this.master.kill('SIGKILL');
    debug('control: closed');
    await rm(this.dir, { recursive: true, force: true });
    return this.exited;
  }

  /** Kills the master at once (its remote side then cleans up on EOF). */
  kill(): void {
    this.master.kill('SIGTERM');
  }
}

// The control socket appears once ssh has authenticated: from then on further sessions can
// ride the connection, even before the control script has said it is ready.
function watchSocket(
  path: string,
  exited: Promise<unknown>,
  found: () => void,
): { stop: () => void } {
  let done = false;
  const stop = () => {
    done = true;
    clearInterval(timer);
  };
  const timer = setInterval(() => {
    if (done || !existsSync(path)) return;
    stop();
    debug('control: connected');
    found();
  }, 5);
  void exited.then(stop);
  return { stop };
}

// A Unix socket's path holds at most 103 bytes (macOS; 107 on Linux), and ssh first binds
// ControlPath plus a 17-byte random suffix: under a long $TMPDIR the socket could not be
// created, so the private directory (mode 0700, like any mkdtemp) goes under /tmp instead.
const SOCKET_PATH_MAX = 103;
function controlDirectory(): Promise<string> {
  const base = tmpdir();
  const longest = join(base, 'sshstream-XXXXXX', 'control').length + 17;
  return mkdtemp(join(longest <= SOCKET_PATH_MAX ? base : '/tmp', 'sshstream-'));
}

// Resolves when the process has exited and its output streams are fully read.
async function settle(child: SshProcess, ...readers: ReportReader[]): Promise<SshExit> {
  const result = await child;
  for (const reader of readers) reader.end();
  return { exitCode: result.exitCode, signal: result.signal, code: result.code };
}

function delay(ms: number): { promise: Promise<undefined>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
