import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshSettings } from './config.js';

// A transfer's extra connections log in with BatchMode: a key file, an agent, a certificate, a
// token, host-based or Kerberos authentication, never a question. Where ssh has none of these
// to offer, each extra login can only fail, a login's time later, as one more failed attempt
// in the server's log (which OpenSSH 9.8 and later may count against the client's address:
// PerSourcePenalties). Its lane then rides the first connection anyway, so it goes there at once.

/**
 * False when a login with `settings` (`ssh -G`) surely needs a question (a password, say): no
 * key file that exists, no agent, no certificate or token provider, neither host-based nor
 * Kerberos authentication. True when it may not, and when ssh could not tell (undefined).
 */
export function mayLogInUnasked(
  settings: SshSettings | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (!settings) return true;
  const on = (keyword: string) => /^(yes|true)$/i.test(settings.get(keyword) ?? '');
  if (on('hostbasedauthentication')) return true;
  // Kerberos needs a ticket; without a Kerberos set-up there is none to find.
  if (on('gssapiauthentication') && (env['KRB5CCNAME'] || existsSync('/etc/krb5.conf'))) {
    return true;
  }
  if (/^(no|false)$/i.test(settings.get('pubkeyauthentication') ?? 'yes')) return false;
  if (hasAgent(settings.get('identityagent'), env)) return true;
  if ((settings.get('pkcs11provider') ?? 'none') !== 'none') return true;
  if (settings.all('certificatefile').length > 0) return true;
  return settings.all('identityfile').some(mayExist);
}

// IdentityAgent: unset means $SSH_AUTH_SOCK; "none" no agent; $VAR or SSH_AUTH_SOCK that variable.
function hasAgent(agent: string | undefined, env: NodeJS.ProcessEnv): boolean {
  if (agent === undefined || agent === 'SSH_AUTH_SOCK') return Boolean(env['SSH_AUTH_SOCK']);
  if (agent === 'none') return false;
  if (agent.startsWith('$')) return Boolean(env[agent.slice(1).replace(/^\{(.*)\}$/, '$1')]);
  return true; // a socket path: ssh will try it
}

// A path with %-tokens or ${VAR} is what ssh expands, not us: it may exist.
function mayExist(path: string): boolean {
  if (/[%$]/.test(path)) return true;
  if (!path.startsWith('~/')) return existsSync(path);
  // ssh's ~ is the account's home directory; $HOME usually is the same.
  const homes = new Set([homedir()]);
  try {
    homes.add(userInfo().homedir);
  } catch {
    // no passwd entry for this uid: $HOME it is
  }
  return [...homes].some((home) => existsSync(join(home, path.slice(2))));
}

/**
 * Whether ssh could have asked the user something for a login with `settings`: a password, a
 * passphrase, a key the server refused before the password that let the user in. It can when
 * it has a terminal to ask on (`terminal`) or an askpass program it would run, unless the
 * config sets BatchMode. Then the first connection's login proves nothing about one that may
 * not ask (a lane's), and each lane that fails to log in is a failed login the server may count
 * against the client's address (see extra-connections.ts).
 */
export function loginMayHaveAsked(
  settings: SshSettings | undefined,
  terminal: boolean,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (/^(yes|true)$/i.test(settings?.get('batchmode') ?? '')) return false;
  // OpenSSH's readpass.c: askpass when forced, or (without a terminal) where a display is.
  const require = (env['SSH_ASKPASS_REQUIRE'] ?? '').toLowerCase();
  if (require === 'force') return true;
  const display = Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY']);
  return terminal || (display && require !== 'never');
}
