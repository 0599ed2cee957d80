import { rm } from 'node:fs/promises';
import { abortErrorFor } from '../util/abort.js';
import { debug } from '../util/debug.js';
import { createDeferred } from '../util/deferred.js';
import { fastCipherOptions } from './cipher.js';
import { keepAliveOptions } from './keep-alive.js';
import { sessionOptions } from './session-options.js';
import { RIDER_OPTIONS, RIDER_SPAWN } from './rider.js';
import { hasUserMaster } from './user-master.js';
import { classifyFailure, type SshExit } from './failure.js';
import { buildControlCommand, SCRIPT_INPUT } from '../remote/script.js';
import { newReportTag } from '../remote/report-tag.js';
import { ReportReader } from '../remote/reports.js';
import { buildSshInvocation, spawnSsh, type SshProcess } from './command.js';
import { ControlConnection } from './control-connection.js';
import type { ControlParams } from './control-parts.js';
import { controlDirectory, controlSocket, watchSocket } from './control-socket.js';
import { killSsh } from './process-tree.js';

/**
 * Opens a {@link ControlConnection}: connects, authenticates and waits until the control script
 * says it is ready. `onConnected` runs as soon as sessions can ride the connection (once ssh
 * has authenticated), so a data session can start while the control script still checks.
 */
export async function openControlConnection(
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
  // A session over the master is another ssh client that reads the config (sessionOptions),
  // and one that may connect on its own (see rider.ts): the cipher and keep-alives go too.
  const sessionArgs = [...cipher, ...keepAlive, ...session];
  const invocation = buildSshInvocation(
    params.destination,
    params.ssh,
    [
      ...sessionArgs,
      ...(shared
        ? RIDER_OPTIONS
        : [
            '-o',
            'ControlMaster=yes',
            '-o',
            `ControlPath=${controlSocket(dir)}`,
            '-o',
            'ControlPersist=no',
          ]),
    ],
    buildControlCommand([tag, ...params.remoteArgs]),
  );
  if (params.signal?.aborted) {
    await rm(dir, { recursive: true, force: true });
    throw abortErrorFor(params.signal, params.context);
  }
  debug('control: spawning ssh master');
  const spawned = performance.now();
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
  const stopOnAbort = () => killSsh(master);
  params.signal?.addEventListener('abort', stopOnAbort, { once: true });
  master.stdin?.on('error', () => {});
  master.stdin?.write(SCRIPT_INPUT);
  const stdout = new ReportReader(tag, master.stdout);
  const stderr = new ReportReader(tag, master.stderr);
  const exited = settle(master, stdout, stderr);
  void exited.then(() => params.signal?.removeEventListener('abort', stopOnAbort));
  const connection = new ControlConnection({
    params,
    dir,
    master,
    stdout,
    stderr,
    tag,
    exited,
    sessionArgs,
    ridesUserMaster: shared,
  });
  const loggedIn = createDeferred<void>();
  const lanes = params.lanes ?? 1;
  const connected = () => {
    loggedIn.resolve();
    // Riding the user's master, nothing logged in here: 0.
    connection.loginMs = shared ? 0 : performance.now() - spawned;
    debug(`control: logged in after ${connection.loginMs.toFixed(0)} ms`);
    onConnected?.(connection);
  };
  if (lanes > 1) connection.openExtras(lanes, loggedIn.promise);
  // The user's master has authenticated already: sessions can ride it at once.
  if (shared) connected();
  // Also how long the login took, which tells a far host (ControlConnection.loginMs).
  const watching = shared ? undefined : watchSocket(controlSocket(dir), exited, connected);
  const ready = await stdout.next(['ready']);
  watching?.stop();
  // The socket may have been seen only after the script said ready, or not at all.
  if (ready) loggedIn.resolve();
  if (!ready) {
    // The lanes' connections end once their logins have settled (see extra-connections.ts;
    // at once when aborted); then the sessions riding the master, which keep it alive.
    await connection.takeExtras()?.close(connection.aborted);
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

// Resolves when the process has exited and its output streams are fully read.
async function settle(child: SshProcess, ...readers: ReportReader[]): Promise<SshExit> {
  const result = await child;
  for (const reader of readers) reader.end();
  return { exitCode: result.exitCode, signal: result.signal, code: result.code };
}
