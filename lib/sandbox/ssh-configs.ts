import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findSftpServer } from './binaries.js';
import type { ServerCommand } from './dropbear.js';

/** The main alias in the generated ssh_config. */
export const HOST = 'sandbox';
/** The name known_hosts holds the host key under, whatever the alias or port. */
export const HOST_KEY_ALIAS = 'sshstream-sandbox';

/**
 * A Match block that puts `SHLVL=1` in the environment of `user`'s sessions only, which makes
 * bash skip ~/.bashrc (it reads it for a command run by sshd only at shell level 1); other
 * users logging in to the same sshd keep theirs. A Match block's SetEnv replaces the global
 * one, so the global variables of `extra` (sshd honours only its first SetEnv line) go in too.
 */
export const withoutBashrc = (user: string, extra: string[]): string[] => {
  const global = extra.find((line) => /^\s*SetEnv\s/i.test(line));
  const vars = global?.trim().replace(/^SetEnv\s+/i, '');
  return [`Match User ${user}`, `  SetEnv ${vars ? `${vars} ` : ''}SHLVL=1`];
};

// `extra` first: sshd keeps the first value of a keyword, so they override the defaults.
const sshdConfigText = (dir: string, port: number, extra: string[], match: string[]): string =>
  [
    ...extra,
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${join(dir, 'host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 100',
    'MaxStartups 200:30:300',
    'LogLevel ERROR',
    'PrintMotd no',
    'PrintLastLog no',
    `Subsystem sftp ${findSftpServer()}`,
    ...match,
    '',
  ].join('\n');

/** The ssh_config whose aliases reach the sandbox with real host key checking. */
export const sshConfigText = (aliases: string[], port: number, user: string, dir: string): string =>
  aliases
    .map((alias) =>
      [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  User ${user}`,
        `  IdentityFile ${join(dir, 'id_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        `  HostKeyAlias ${HOST_KEY_ALIAS}`,
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    )
    .join('\n');

/**
 * HOST and the extra aliases, each checked. A bad alias would silently become an ssh_config
 * pattern or a second keyword.
 */
export const validateAliases = (extra: string[]): string[] => {
  const aliases = [...new Set([HOST, ...extra])];
  for (const alias of aliases) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(alias)) {
      throw new Error(`sandbox alias ${JSON.stringify(alias)}: use letters, digits, . _ -`);
    }
  }
  return aliases;
};

// The command that starts OpenSSH's sshd on `port`, after writing its config.
export const sshdCommand = async (
  sshd: string,
  dir: string,
  port: number,
  extra: string[],
  match: string[],
): Promise<ServerCommand> => {
  const configPath = join(dir, 'sshd_config');
  await writeFile(configPath, sshdConfigText(dir, port, extra, match), { mode: 0o644 });
  return { command: sshd, args: ['-D', '-e', '-f', configPath] };
};
