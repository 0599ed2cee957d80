import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The local account a sandbox's sshd logs in as. */
export interface LoginUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The login user: the current one, or (as root only) `user`. A non-root sshd can only authenticate
 * the user it runs as.
 */
export const resolveLoginUser = async (user: string | undefined): Promise<LoginUser> => {
  const self = userInfo();
  if (user === undefined || user === self.username) {
    return { name: self.username, uid: self.uid, gid: self.gid };
  }
  if (self.uid !== 0) {
    throw new Error(
      `sandbox user ${user}: only root can run an sshd that logs in as another user ` +
        `(a non-root sshd can only log in as ${self.username})`,
    );
  }
  const id = async (flag: string): Promise<number> => {
    try {
      return Number((await run('id', [flag, '--', user])).stdout.trim());
    } catch {
      throw new Error(`sandbox user ${user}: no such local user`);
    }
  };
  return { name: user, uid: await id('-u'), gid: await id('-g') };
};

/**
 * Refuses an account sshd would refuse without PAM, naming the fix. With UsePAM no, sshd refuses
 * locked accounts ('!' password, useradd's default) even for keys.
 */
export const assertNotLocked = async (user: string): Promise<void> => {
  const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '');
  const password = shadow
    .split('\n')
    .find((line) => line.startsWith(`${user}:`))
    ?.split(':')[1];
  if (password?.startsWith('!')) {
    throw new Error(
      `sandbox user ${user}: the account is locked (password "!..." in /etc/shadow) and sshd ` +
        `refuses it without PAM; unlock key logins with \`usermod -p '*' ${user}\``,
    );
  }
};
