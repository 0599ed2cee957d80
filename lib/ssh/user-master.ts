import { debug } from '../util/debug.js';
import { effectiveSshConfig } from './config.js';
import {
  buildSshInvocation,
  customSshCommand,
  spawnSsh,
  type SshDestination,
  type SshOptions,
} from './command.js';

const CHECK_TIMEOUT_MS = 5000;

// Users with ControlMaster/ControlPath in their config authenticate once (password, 2FA, a key
// touch) and expect every later ssh, scp or rsync to ride that connection: a push must too.
/**
 * Whether the user's ssh config (or -o) names a ControlPath for `destination` and a master is
 * running there (`ssh -O check`), so sessions can ride it with RIDER_OPTIONS (rider.ts) and
 * that ControlPath. Never for a --ssh command (it may not be OpenSSH). The master is the user's: nothing here or
 * in its riders ever stops it (no `ssh -O exit`/`stop`).
 */
export async function hasUserMaster(
  destination: SshDestination,
  options: SshOptions,
): Promise<boolean> {
  if (customSshCommand(options) !== undefined) return false;
  const settings = await effectiveSshConfig(destination, options);
  const path = settings?.get('controlpath');
  if (path === undefined || path === 'none') return false;
  const invocation = buildSshInvocation(
    destination,
    { ...options, sshCommand: '' },
    ['-O', 'check'],
    'true',
  );
  const result = await spawnSsh(invocation, { stdin: 'ignore', timeout: CHECK_TIMEOUT_MS });
  debug(`user master at ${path}: ${result.exitCode === 0 ? 'running' : 'none'}`);
  return result.exitCode === 0;
}
