import { join } from 'node:path';
import { RIDER_SPAWN } from './rider.js';
import type { ControlParts } from './control-parts.js';
import { buildSshInvocation, spawnSsh, type SshProcess } from './command.js';

/**
 * Spawns a master of another connection to the host of `parts`, with a login of its own that
 * never asks (BatchMode, no terminal: rider.ts); its socket `name` goes in the private directory
 * of `parts`. Sessions ride it through spawnRidingSession's `socket`. Its own session only
 * reads its stdin, a pipe from us: should we die (SIGKILL), the pipe closes and the connection
 * ends with it, as the control script's does.
 */
export function spawnExtraMaster(
  parts: ControlParts,
  name: string,
): { master: SshProcess; socket: string } {
  const socket = join(parts.dir, name);
  const invocation = buildSshInvocation(
    parts.params.destination,
    parts.params.ssh,
    [
      ...parts.sessionArgs,
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
  return { master, socket };
}
