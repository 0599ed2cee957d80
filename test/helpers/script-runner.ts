// Runs the remote script as sshd would, under a shell that can be a server's /bin/sh, with a
// PATH that holds only the tools a step may use (and stand-ins a test writes for some).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { findExecutable } from '../../transforms/which.js';
import { buildRemoteCommand, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { shellPath } from './users.js';

/** The shells a server's /bin/sh may be, those installed here. */
export const SCRIPT_SHELLS = ['dash', 'bash', 'mksh', 'ksh', 'zsh', 'yash', 'busybox'].filter(
  (shell) => shellPath(shell) !== undefined,
);

// What every shell but yash has built in (yash runs its own only when PATH has them).
const BUILT_IN = ['[', 'echo', 'false', 'kill', 'printf', 'test', 'true'];

/** What one run printed and how it ended. */
export interface ScriptRun {
  stdout: Buffer;
  stderr: string;
  status: number | null;
}

/**
 * Runs the script with `args` (its tag is T) under `shell` as sh, `stdin` after the script,
 * PATH holding sh, the built-ins, the real `tools`, and `standIns` (name -> sh script text, run
 * by /bin/sh).
 */
export type ScriptRunner = (
  shell: string,
  tools: string[],
  args: (string | Buffer)[],
  stdin?: string,
  standIns?: Record<string, string>,
) => Promise<ScriptRun>;

/**
 * For the enclosing describe: a temporary directory (`dir()`, removed after) and a runner whose
 * runs each get a fresh bin directory in it.
 */
export function useScriptRunner(prefix: string): { dir: () => string; run: ScriptRunner } {
  let dir = '';
  let bins = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const run: ScriptRunner = async (shell, tools, args, stdin = '', standIns = {}) => {
    const bin = join(dir, `bin-${bins++}`);
    await mkdir(bin);
    await symlink(shellPath(shell)!, join(bin, 'sh'));
    for (const tool of [...BUILT_IN, ...tools]) {
      await symlink(findExecutable(tool)!, join(bin, tool));
    }
    for (const [name, text] of Object.entries(standIns)) {
      await writeFile(join(bin, name), `#!/bin/sh\n${text}`, { mode: 0o755 });
    }
    const result = spawnSync(join(bin, 'sh'), ['-c', buildRemoteCommand(['T', ...args])], {
      env: { PATH: bin, HOME: dir },
      input: `${SCRIPT_INPUT}${stdin}`,
      timeout: 20_000,
    });
    return { stdout: result.stdout, stderr: result.stderr.toString(), status: result.status };
  };
  return { dir: () => dir, run };
}
