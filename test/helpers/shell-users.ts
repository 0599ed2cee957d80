import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, type TestContext } from 'node:test';
import { isRoot, rootOnly, skipOrFail } from './prerequisites.js';
import { ensureShellUsers, ensureUser, shellPath, type Shell, type TestUser } from './users.js';

/** The login-shell users of a suite (see useShellUsers). */
export interface ShellUsers {
  /** Every user made, by shell: empty unless root, and only for the shells installed. */
  all(): Map<Shell, TestUser>;
  /**
   * The user whose login shell is `shell`, for a test that logs in as it: root-only (see
   * rootOnly), and one that skips, or under CI=true fails, when the shell is not installed.
   */
  loginAs(t: Pick<TestContext, 'skip'>, shell: Shell): TestUser | undefined;
}

/**
 * A user per installed login shell (sshstream-<shell>, see ensureShellUsers), made as root
 * before the tests of the suite that calls this.
 */
export function useShellUsers(): ShellUsers {
  let users = new Map<Shell, TestUser>();
  before(async () => {
    if (isRoot()) users = await ensureShellUsers();
  });
  return {
    all: () => users,
    loginAs(t, shell) {
      if (!rootOnly(t)) return undefined;
      const user = users.get(shell);
      if (!user) skipOrFail(t, `${shell} is not installed`);
      return user;
    },
  };
}

/**
 * A user `name` whose login shell is bash with `bashrc` as its ~/.bashrc (noise before every
 * command, say), made as root before the tests of the suite that calls this. `loginAs(t)` gives
 * it to a root-only test, which skips, or under CI=true fails, when bash is not installed.
 */
export function useBashUser(
  name: string,
  bashrc: string,
): { loginAs(t: Pick<TestContext, 'skip'>): TestUser | undefined } {
  let user: TestUser | undefined;
  before(async () => {
    if (!isRoot() || shellPath('bash') === undefined) return;
    user = await ensureUser(name, 'bash');
    await writeFile(join(user.home, '.bashrc'), bashrc);
  });
  return {
    loginAs(t) {
      if (!rootOnly(t, 'needs root (a test user with a noisy login shell)')) return undefined;
      if (!user) skipOrFail(t, 'bash is not installed');
      return user;
    },
  };
}
