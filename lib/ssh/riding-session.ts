import { RIDER_OPTIONS, RIDER_SPAWN } from './rider.js';
import { buildRemoteCommand, buildSavedScriptCommand, SCRIPT_INPUT } from '../remote/script.js';
import { controlSocket } from './control-socket.js';
import type { ControlParts } from './control-parts.js';
import { buildSshInvocation, spawnSsh, type SshProcess } from './command.js';

/** How a session's stdio is set up: spawnSsh's options. */
export type SessionOptions = Parameters<typeof spawnSsh>[1];

/**
 * Starts a session of the remote script with `remoteArgs` (after the connection's tag) riding
 * the connection of `parts`, or the extra connection at `socket`. With stdin a pipe the script
 * goes first on it; otherwise the remote copy at `savedScript` runs (see saveScript).
 */
export function spawnRidingSession(
  parts: ControlParts,
  savedScript: string | undefined,
  remoteArgs: readonly string[],
  options: SessionOptions,
  socket?: string,
): SshProcess {
  const piped = options.stdin === 'pipe';
  if (!piped && savedScript === undefined) throw new Error('saveScript() first');
  const args = [parts.tag, ...remoteArgs];
  // Over the master (or the extra connection at `socket`); should the server refuse it a
  // session there (MaxSessions 1), ssh connects on its own, never asking (rider.ts), through
  // the same -J as the master.
  const path = socket ?? (parts.ridesUserMaster ? undefined : controlSocket(parts.dir));
  const invocation = buildSshInvocation(
    parts.params.destination,
    parts.params.ssh,
    [
      ...parts.sessionArgs,
      ...RIDER_OPTIONS,
      ...(path === undefined ? [] : ['-o', `ControlPath=${path}`]),
    ],
    piped ? buildRemoteCommand(args) : buildSavedScriptCommand(savedScript!, args),
  );
  const session = spawnSsh(invocation, { ...options, ...RIDER_SPAWN });
  if (piped) {
    session.stdin?.on('error', () => {});
    session.stdin?.write(SCRIPT_INPUT);
  }
  return session;
}
