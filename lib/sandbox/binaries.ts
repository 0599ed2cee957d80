import { findExecutable } from '../../transforms/which.js';

/**
 * The first of `candidates` that is executable, else `name` found on PATH. Servers are usually
 * outside an ordinary user's PATH, so look in the sbin dirs first.
 */
export const findFirst = (candidates: string[], name: string): string | undefined =>
  candidates.map((path) => findExecutable(path)).find(Boolean) ?? findExecutable(name);

/** The absolute path of the OpenSSH server, or `undefined` when it is not installed. */
export const findSshd = (): string | undefined =>
  findFirst(['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'], 'sshd');

/** The absolute path of ssh-keygen; throws one line naming how to install it. */
export const findSshKeygen = (): string => {
  const path = findFirst(['/usr/bin/ssh-keygen', '/usr/local/bin/ssh-keygen'], 'ssh-keygen');
  if (path === undefined) {
    throw new Error(
      'ssh-keygen not found: install the OpenSSH client (`apt-get install openssh-client` or ' +
        '`dnf install openssh-clients`)',
    );
  }
  return path;
};

// scp talks SFTP since OpenSSH 9.0, so the sandbox needs an sftp subsystem.
export const findSftpServer = (): string =>
  findFirst(
    [
      '/usr/lib/openssh/sftp-server',
      '/usr/libexec/openssh/sftp-server',
      '/usr/libexec/sftp-server',
    ],
    'sftp-server',
  ) ?? 'internal-sftp';
