import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { chown, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../lib/sandbox/sandbox.js';
import { isRoot } from './prerequisites.js';
import { ensureUser, type TestUser } from './users.js';

/** What useSandbox and useShSandbox give the test file that calls them: read it inside tests. */
export interface SandboxInUse {
  /** The running sandbox. */
  readonly current: Sandbox;
  /** The test user it logs in as (useShSandbox, as root), else undefined. */
  readonly user: TestUser | undefined;
  /** `['-F', configPath]`: what ssh (and the CLI) needs to reach the sandbox's aliases. */
  readonly sshArgs: string[];
  /** A new directory for one test's remote files (see freshDir). */
  fresh(user?: TestUser): Promise<string>;
}

// How many directories freshDir has made in each sandbox's scratch.
const made = new WeakMap<Sandbox, number>();

/**
 * A new directory in `sandbox`'s scratch (`case-N`, numbered per sandbox) for one test's remote
 * files, owned like the scratch by the login user, so it can write there; or by `user`.
 */
export async function freshDir(sandbox: Sandbox, user?: TestUser): Promise<string> {
  const n = made.get(sandbox) ?? 0;
  made.set(sandbox, n + 1);
  const dir = join(sandbox.scratch, `case-${n}`);
  await mkdir(dir);
  const owner = user ?? (await stat(sandbox.scratch));
  await chown(dir, owner.uid, owner.gid);
  return dir;
}

// Starts a sandbox with `start` before the file's tests and stops it after them.
function useStarted(
  start: () => Promise<Sandbox>,
  loginUser: () => TestUser | undefined = () => undefined,
): SandboxInUse {
  let started: Sandbox | undefined;
  before(async () => {
    started = await start();
  });
  after(async () => {
    await started?.stop();
  });
  const current = (): Sandbox => {
    if (!started) throw new Error('sandbox not started');
    return started;
  };
  return {
    get current() {
      return current();
    },
    get user() {
      return loginUser();
    },
    get sshArgs() {
      return current().sshArgs;
    },
    fresh: (user) => freshDir(current(), user),
  };
}

/**
 * One real sshd for the test file that calls this at top level: started before its tests,
 * stopped after. It logs in as the account running the tests unless `options.user` says
 * otherwise.
 */
export function useSandbox(options?: SandboxOptions): SandboxInUse {
  return useStarted(() => startSandbox(options));
}

/**
 * useSandbox logging in, as root, as the `sh` user: a login shell that reads startup files
 * only slows each session. `.user` is that user (undefined when not root).
 */
export function useShSandbox(options: SandboxOptions = {}): SandboxInUse {
  let user: TestUser | undefined;
  return useStarted(
    async () => {
      user = isRoot() ? await ensureUser('sshstream-sh', 'sh') : undefined;
      return startSandbox({ ...options, ...(user ? { user: user.name } : {}) });
    },
    () => user,
  );
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
