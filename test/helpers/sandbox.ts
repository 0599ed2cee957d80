import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../lib/sandbox/sandbox.js';
import { isRoot } from './prerequisites.js';
import { ensureUser, type TestUser } from './users.js';

/**
 * One real sshd for the test file that calls this at top level: started before its tests,
 * stopped after. Read `.current` inside tests.
 */
export function useSandbox(options?: SandboxOptions): { readonly current: Sandbox } {
  const holder: { current: Sandbox | undefined } = { current: undefined };
  before(async () => {
    holder.current = await startSandbox(options);
  });
  after(async () => {
    await holder.current?.stop();
  });
  return {
    get current(): Sandbox {
      if (!holder.current) throw new Error('sandbox not started');
      return holder.current;
    },
  };
}

/**
 * useSandbox logging in, as root, as the `sh` user: a login shell that reads startup files
 * only slows each session. `.user` is that user (undefined when not root), for userDir.
 */
export function useShSandbox(options: SandboxOptions = {}): {
  readonly current: Sandbox;
  readonly user: TestUser | undefined;
} {
  let user: TestUser | undefined;
  let current: Sandbox | undefined;
  before(async () => {
    user = isRoot() ? await ensureUser('sshstream-sh', 'sh') : undefined;
    current = await startSandbox({ ...options, ...(user ? { user: user.name } : {}) });
  });
  after(async () => {
    await current?.stop();
  });
  return {
    get current(): Sandbox {
      if (!current) throw new Error('sandbox not started');
      return current;
    },
    get user(): TestUser | undefined {
      return user;
    },
  };
}

/**
 * A fresh directory (readable by any login user) holding one executable, `name`, with `text`:
 * a tool of the test's own to stand in for the remote one (see sessionPath). Made at once,
 * removed after the file's tests.
 */
export function useToolDir(prefix: string, name: string, text: string): string {
  const bin = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(bin, 0o755);
  writeFileSync(join(bin, name), text, { mode: 0o755 });
  after(() => rmSync(bin, { recursive: true, force: true }));
  return bin;
}

/** The sshd_config line that puts `bin` first on the PATH of every session. */
export const sessionPath = (bin: string): string =>
  `SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`;
