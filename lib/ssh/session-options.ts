import { effectiveSshConfig } from './config.js';
import { customSshCommand, type SshDestination, type SshOptions } from './command.js';

/**
 * Options that undo settings of the user's ssh config which keep our command from running
 * with its stdin and stdout: `SessionType none` (no command: push and pull hang), `StdinNull
 * yes` (no input for a push) and `ForkAfterAuthentication yes` (ssh goes to the background).
 * Only where `ssh -G` shows them set (OpenSSH 8.7+ knows them; an older ssh would refuse the
 * option); none for a --ssh command.
 */
export async function sessionOptions(
  destination: SshDestination,
  options: SshOptions,
): Promise<string[]> {
  if (customSshCommand(options) !== undefined) return [];
  const settings = await effectiveSshConfig(destination, options);
  if (!settings) return [];
  const extra: string[] = [];
  const sessionType = settings.get('sessiontype');
  if (sessionType !== undefined && sessionType !== 'default') {
    extra.push('-o', 'SessionType=default');
  }
  if (settings.get('stdinnull') === 'yes') extra.push('-o', 'StdinNull=no');
  if (settings.get('forkafterauthentication') === 'yes') {
    extra.push('-o', 'ForkAfterAuthentication=no');
  }
  return extra;
}
