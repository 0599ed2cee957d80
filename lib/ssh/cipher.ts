import { readFileSync } from 'node:fs';
import { effectiveSshConfig } from './config.js';
import { customSshCommand, type SshDestination, type SshOptions } from './command.js';

const GCM = 'aes128-gcm@openssh.com';

/**
 * Options that make ssh faster without overriding anything the user chose: on a CPU with AES
 * instructions, AES-GCM runs about twice as fast as OpenSSH's default chacha20-poly1305. It is
 * put first only when the effective cipher list (`ssh -G`, with the user's config and options)
 * is OpenSSH's own default, i.e. nobody configured ciphers; the rest of the list stays as a
 * fallback. Skipped for a custom ssh command, which may not be OpenSSH.
 */
export async function fastCipherOptions(
  destination: SshDestination,
  options: SshOptions,
): Promise<string[]> {
  if (customSshCommand(options) !== undefined) return [];
  if (options.options?.some((option) => /^\s*ciphers\b/i.test(option))) return [];
  if (!cpuHasAes()) return [];
  const [effective, defaults] = await Promise.all([
    ciphersOf(destination, options),
    ciphersOf(destination, { config: '/dev/null' }),
  ]);
  if (!effective || effective !== defaults || effective.startsWith(GCM)) return [];
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
