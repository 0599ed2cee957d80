import { effectiveSshConfig } from './config.js';
import { customSshCommand, type SshDestination, type SshOptions } from './command.js';

/**
 * The ssh options of the stall watchdog, for a stall timeout of `ms` (0: none): keep-alives
 * (`ServerAliveInterval` = half the timeout, `ServerAliveCountMax` 3: a silent server is given
 * up after about 1.5 times the timeout, in every phase, key exchange and remote verification
 * included) and `ConnectTimeout` = the timeout (TCP connect and the server's banner). Each is
 * left out when the user's config or `-o` sets it; all are, for a --ssh command (it may not be
 * OpenSSH).
 */
export async function keepAliveOptions(
  destination: SshDestination,
  options: SshOptions,
  ms: number,
): Promise<string[]> {
  if (ms <= 0) return [];
  if (customSshCommand(options) !== undefined) return [];
  const settings = await effectiveSshConfig(destination, options);
  if (!settings) return [];
  // An explicit -o wins even when it equals ssh's default (ServerAliveInterval=0: off).
  const given = (prefix: string) =>
    options.options?.some((option) => option.trim().toLowerCase().startsWith(prefix)) ?? false;
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const extra: string[] = [];
  // Unset reads 0, or 300 with BatchMode (ssh's own default there: 15 minutes to notice).
  const unset = settings.get('batchmode') === 'yes' ? ['0', '300'] : ['0'];
  if (!given('serveraliveinterval') && unset.includes(settings.get('serveraliveinterval') ?? '')) {
    extra.push('-o', `ServerAliveInterval=${Math.max(1, Math.ceil(seconds / 2))}`);
    if (!given('serveralivecountmax') && settings.get('serveralivecountmax') === '3') {
      extra.push('-o', 'ServerAliveCountMax=3');
    }
  }
  if (!given('connecttimeout') && (settings.get('connecttimeout') ?? 'none') === 'none') {
    extra.push('-o', `ConnectTimeout=${seconds}`);
  }
  return extra;
}
