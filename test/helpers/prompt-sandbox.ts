import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { isRoot } from './prerequisites.js';
import { freshDir } from './sandbox.js';
import { startTerminal, type Terminal } from './terminal.js';
import { ensurePasswordUser, ensureUser, type TestUser } from './users.js';

/** The account that logs in with a password only, in the tests of ssh's questions. */
export const PASSWORD_USER = 'sshstream-password';
/** Its password. */
export const PASSWORD = 'correct horse';
/** ssh's question for it (ssh names the host by the sandbox's HostKeyAlias). */
export const PASSWORD_PROMPT = `${PASSWORD_USER}@sshstream-sandbox's password: `;

/** What usePromptSandbox sets up. */
export interface PromptSandbox {
  /** The sandbox (root only: it logs in as other users). */
  readonly sandbox: Sandbox;
  /** The `sh` user, logging in by key (undefined when not root). */
  readonly keyUser: TestUser | undefined;
  /** PASSWORD_USER (undefined when not root). */
  readonly passwordUser: TestUser | undefined;
  /** A local directory of the test file's own (terminal logs, inputs, configs). */
  readonly local: string;
  /** A new directory for one test's remote files (see freshDir), owned by `user`. */
  fresh(user: TestUser | undefined): Promise<string>;
  /** Runs `argv` (after node) on a terminal of its own, stdin from `input`; stopped at the end. */
  onTerminal(argv: string[], input: string): Promise<Terminal>;
}

/**
 * For tests of ssh's questions on a real terminal (tmux): a sandbox that logs in as the `sh`
 * user by key and also takes passwords (and `sshdConfig`), with PASSWORD_USER made beside it.
 * The terminals, the sandbox and the local directory go after the file's tests.
 */
export function usePromptSandbox(prefix: string, sshdConfig: string[]): PromptSandbox {
  let sandbox: Sandbox | undefined;
  let keyUser: TestUser | undefined;
  let passwordUser: TestUser | undefined;
  let local = '';
  const terminals: Terminal[] = [];
  before(async () => {
    local = await mkdtemp(join(tmpdir(), prefix));
    if (!isRoot()) return;
    keyUser = await ensureUser('sshstream-sh', 'sh');
    passwordUser = await ensurePasswordUser(PASSWORD_USER, 'sh', PASSWORD);
    sandbox = await startSandbox({
      user: keyUser.name,
      sshdConfig: [...sshdConfig, 'PasswordAuthentication yes'],
    });
  });
  after(async () => {
    for (const terminal of terminals) await terminal.stop();
    await sandbox?.stop();
    if (local) await rm(local, { recursive: true, force: true });
  });
  const started = (): Sandbox => {
    if (!sandbox) throw new Error('sandbox not started');
    return sandbox;
  };
  return {
    get sandbox() {
      return started();
    },
    get keyUser() {
      return keyUser;
    },
    get passwordUser() {
      return passwordUser;
    },
    get local() {
      return local;
    },
    fresh: (user) => freshDir(started(), user),
    async onTerminal(argv, input) {
      const quoted = [process.execPath, ...argv].map((arg) => `'${arg}'`).join(' ');
      const terminal = await startTerminal(local, `${quoted} < '${input}'`);
      terminals.push(terminal);
      return terminal;
    },
  };
}
