import { readFileSync } from 'node:fs';
import { effectiveSshConfig } from './config.js';
import { customSshCommand, type SshDestination, type SshOptions } from './command.js';

const GCM = 'aes128-gcm@openssh.com';

// OpenSSH's compiled-in client list (KEX_CLIENT_ENCRYPT built with OpenSSL, as OpenSSH 9.2's
// `ssh -G -F /dev/null` prints it). An effective list equal to it is taken as the default
// without a second `ssh -G`, a process start on every transfer; any other list is checked.
const KNOWN_DEFAULTS: ReadonlySet<string> = new Set([
  'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
]);

/**
 * Options that make ssh faster without overriding anything the user chose: on a CPU with AES
 * instructions, AES-GCM runs about twice as fast as OpenSSH's default chacha20-poly1305. It is
 * put first only when the effective cipher list (`ssh -G`, with the user's config and options)
 * is OpenSSH's own default (a list it is known to have, else what `ssh -G -F /dev/null` says),
 * i.e. nobody configured ciphers; the rest of the list stays as a
 * fallback. Skipped for a custom ssh command, which may not be OpenSSH.
 */
export async function fastCipherOptions(
  destination: SshDestination,
  options: SshOptions,
): Promise<string[]> {
  if (customSshCommand(options) !== undefined) return [];
  if (options.options?.some((option) => /^\s*ciphers\b/i.test(option))) return [];
  if (!cpuHasAes()) return [];
  const effective = await ciphersOf(destination, options);
  if (!effective || effective.startsWith(GCM)) return [];
  if (!KNOWN_DEFAULTS.has(effective)) {
    if (effective !== (await ciphersOf(destination, { config: '/dev/null' }))) return [];
  }
  const list = effective.split(',');
  if (!list.includes(GCM)) return [];
  return ['-o', `Ciphers=${[GCM, ...list.filter((cipher) => cipher !== GCM)].join(',')}`];
}

async function ciphersOf(
  destination: SshDestination,
  options: SshOptions,
): Promise<string | undefined> {
  return (await effectiveSshConfig(destination, options))?.get('ciphers');
}

let aes: boolean | undefined;
function cpuHasAes(): boolean {
  if (aes !== undefined) return aes;
  if (process.platform !== 'linux')
    return (aes = process.arch === 'arm64' || process.arch === 'x64');
  try {
    aes =
      /^flags\s*:.*\baes\b/m.test(readFileSync('/proc/cpuinfo', 'latin1')) ||
      /^Features\s*:.*\baes\b/m.test(readFileSync('/proc/cpuinfo', 'latin1'));
  } catch {
    aes = false;
  }
  return aes;
}
