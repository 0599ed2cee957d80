// Faults, each with its documented exit code and one stderr line naming host, path and cause;
// the destination is left as it was and no temporary file stays behind.
//
//   4  remote I/O: disk full, permission, missing directory, a directory in the way, a missing
//      remote tool
//   2  the connection was lost: ssh master killed, remote script killed, sshd gone
//   (a signal to sshstream: 130/143 are in push-cli.test.ts; SIGKILL here: nothing can clean
//    up locally, so the remote control script removes the temporary file on EOF)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it, type TestContext } from 'node:test';
import { INLINE_LIMIT } from '../../lib/push/options.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { startCli, type CliResult, type CliRun } from '../helpers/cli.js';
import { leftovers, waitFor as waitForAny } from '../helpers/files.js';
import { descendants, remoteSession } from '../helpers/processes.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureUser, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly, skipOrFail } from '../helpers/prerequisites.js';

const run = promisify(execFile);
const sandbox = useSandbox();
const cfg = (s: Sandbox = sandbox.current) => ['-F', s.configPath];
let count = 0;
const fresh = async (parent = sandbox.current.scratch): Promise<string> => {
  const dir = join(parent, `fault-${count++}`);
  await mkdir(dir);
  return dir;
};

// An unprivileged login user for permission faults (root may write anywhere).
let plain: TestUser | undefined;
before(async () => {
  if (isRoot()) plain = await ensureUser('sshstream-sh', 'sh');
});

// waitFor that says what it waited for.
const waitFor = (predicate: () => Promise<boolean> | boolean, ms?: number): Promise<void> =>
  waitForAny(predicate, ms).catch((error: Error) => {
    throw new Error(`${error.message}: ${String(predicate).replace(/\s+/g, ' ')}`);
  });

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The whole failure shape: exit code, one line naming operation and target, the cause. */
function assertFailure(
  result: CliResult,
  code: number,
  operation: string,
  target: string,
  cause: RegExp,
): void {
  assert.equal(result.code, code, result.stderr);
  assert.match(result.stderr, new RegExp(`^sshstream: ${operation} ${escapeRegExp(target)}: `));
  assert.match(result.stderr, /^[^\n]*\n$/, 'exactly one line');
  assert.doesNotMatch(result.stderr, /[\x00-\x09\x0b-\x1f\x7f]/, 'no raw control characters');
  assert.match(result.stderr.slice(`sshstream: ${operation} ${target}: `.length, -1), cause);
}

/** An existing destination that must survive, and the check that it did, with nothing left. */
async function precious(dir: string, name = 'precious'): Promise<() => Promise<void>> {
  const path = join(dir, name);
  const old = `old contents of ${name}\n`;
  await writeFile(path, old);
  return async () => {
    assert.equal(await readFile(path, 'utf8'), old, 'destination changed');
    await waitFor(async () => (await leftovers(dir)).length === 0, 10_000).catch(async (error) => {
      throw new Error(`${(error as Error).message}; left: ${(await leftovers(dir)).join(', ')}`);
    });
  };
}

// The remote temporary file itself (the data session may add a `.sum` beside it).
const isTemporary = (name: string): boolean =>
  /\.sshstream-SSHSTREAM-[0-9a-f]{16}\.tmp$/.test(name);

// CLIs still running when a test fails would keep this file's process alive: killed at the end.
const running = new Set<CliRun>();
after(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
});
function start(args: string[]): CliRun {
  const cli = startCli(args);
  running.add(cli);
  void cli.done.then(() => running.delete(cli));
  return cli;
}

// The running CLI's result, or (killed) a failed one after `ms`.
async function within(cli: CliRun, ms: number): Promise<CliResult> {
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), ms);
  const result = await cli.done;
  clearTimeout(timer);
  return result;
}

// The 'cat' that writes the data of a push to `path` on the remote side (the hash reads the
// file back); any other cat of the session has a file argument.
const remoteWriter = (s: Sandbox, path: string) =>
  remoteSession(s, 'push-data', path).children.find(
    (info) => info.argv[0] === 'cat' && info.argv.length === 1,
  );

// Like runCli, but a hang fails the test (killed after 30 s) instead of stalling the suite.
async function runCli(args: string[], input: Buffer | string = ''): Promise<CliResult> {
  const cli = start(args);
  cli.child.stdin!.end(input);
  return within(cli, 30_000);
}

/** Starts a push of a stream that never ends, once the remote temporary file exists. */
async function pushInFlight(target: string, dir: string, args: string[] = cfg()): Promise<CliRun> {
  const push = start(['push', ...args, target]);
  push.child.stdin!.write(randomBytes(256 * 1024));
  await waitFor(async () => (await readdir(dir)).some(isTemporary));
  return push;
}

describe('remote I/O faults exit 4', () => {
  // A push of `input` into a fresh tmpfs of `size` that holds only the precious file.
  async function pushIntoFullDisk(t: TestContext, size: string, input: Buffer, cause: RegExp) {
    if (!rootOnly(t)) return;
    const dir = await fresh();
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).then(
      () => true,
      (error: Error) => skipOrFail(t, `cannot mount a tmpfs here: ${error.message}`),
    );
    if (mounted !== true) return;
    try {
      const kept = await precious(dir);
      const target = `${sandbox.current.host}:${dir}/precious`;
      const result = await runCli(['push', ...cfg(), target], input);
      assertFailure(result, 4, 'push', target, cause);
      await kept();
    } finally {
      await run('umount', [dir]);
    }
  }

  it('disk full: No space left, the old file kept, no temporary file', (t) =>
    pushIntoFullDisk(t, '1m', randomBytes(4 << 20), /No space left on device/));

  it('disk full on a small (inline) push: exit 4 naming the short write, the old file kept', (t) =>
    pushIntoFullDisk(
      t,
      '8k',
      randomBytes(INLINE_LIMIT),
      /cannot write the temporary file.*of 16384 bytes/,
    ));

  it('a directory the login user cannot write: permission denied', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await fresh();
    const kept = await precious(dir);
    const target = `${plain!.name}@${sandbox.current.host}:${dir}/precious`;
    const result = await runCli(['push', ...cfg(), target], 'new');
    assertFailure(
      result,
      4,
      'push',
      target,
      new RegExp(`^permission denied: cannot create files in ${escapeRegExp(dir)}$`),
    );
    await kept();
  });

  it('a file the login user cannot read: permission denied, and no local file', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await fresh();
    await writeFile(join(dir, 'secret'), 'secret');
    await chmod(join(dir, 'secret'), 0o600);
    const local = join(await fresh(), 'out');
    const target = `${plain!.name}@${sandbox.current.host}:${dir}/secret`;
    const result = await runCli(['pull', ...cfg(), target, local]);
    assertFailure(result, 4, 'pull', target, /^permission denied$/);
    assert.deepEqual(await readdir(join(local, '..')), []);
  });

  it('a missing remote directory (push) and a missing file (pull)', async () => {
    const dir = await fresh();
    const target = `${sandbox.current.host}:${dir}/no/such/f`;
    const pushed = await runCli(['push', ...cfg(), target], 'x');
    assertFailure(pushed, 4, 'push', target, /^no such directory \(use --mkdir to create it\)$/);
    assert.ok(!existsSync(join(dir, 'no')));
    const pulled = await runCli(['pull', ...cfg(), target]);
    assertFailure(pulled, 4, 'pull', target, /^no such file$/);
    assert.equal(pulled.stdout.length, 0);
  });

  it('a parent that is a file, not a directory', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'file'), 'x');
    const target = `${sandbox.current.host}:${dir}/file/f`;
    const result = await runCli(['push', ...cfg(), '--mkdir', target], 'x');
    assertFailure(
      result,
      4,
      'push',
      target,
      /cannot create directory: .*(File exists|Not a directory)/,
    );
    assert.equal(await readFile(join(dir, 'file'), 'utf8'), 'x');
  });

  it('a destination that is a directory, however it is spelled', async () => {
    const dir = await fresh();
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'inside'), 'inside');
    for (const [path, cause] of [
      [`${dir}/sub`, /^is a directory$/],
      [`${dir}/sub/`, /^is a directory \(give a file name\)$/],
      [`${dir}/sub/.`, /^is a directory$/],
      [`${dir}/sub/..`, /^is a directory$/],
      ['/', /^is a directory/],
    ] as const) {
      const target = `${sandbox.current.host}:${path}`;
      assertFailure(await runCli(['push', ...cfg(), target], 'x'), 4, 'push', target, cause);
      if (path === `${dir}/sub`) {
        assertFailure(await runCli(['pull', ...cfg(), target]), 4, 'pull', target, cause);
      }
    }
    assert.deepEqual(await readdir(join(dir, 'sub')), ['inside']);
    assert.deepEqual((await readdir(dir)).sort(), ['sub']);
  });

  // Documented: like rsync, a symbolic link at the destination is replaced by the file, not
  // written through; the file keeps the permission bits of what the link pointed to.
  it('a symbolic link to a file is replaced by the file; the file it pointed to is untouched', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'real'), 'real');
    await chmod(join(dir, 'real'), 0o640);
    await symlink('real', join(dir, 'link'));
    await symlink('nowhere', join(dir, 'dangling'));
    for (const name of ['link', 'dangling']) {
      const result = await runCli(
        ['push', '-q', ...cfg(), `${sandbox.current.host}:${dir}/${name}`],
        name,
      );
      assert.equal(result.code, 0, result.stderr);
      const landed = await lstat(join(dir, name));
      assert.ok(landed.isFile(), `${name} is now a regular file`);
      assert.equal(await readFile(join(dir, name), 'utf8'), name);
      assert.equal(landed.mode & 0o777, name === 'link' ? 0o640 : 0o644);
    }
    assert.equal(await readFile(join(dir, 'real'), 'utf8'), 'real');
    assert.ok(!existsSync(join(dir, 'nowhere')));
    assert.deepEqual(await leftovers(dir), []);
  });

  it('a symbolic link to a directory is an error', async () => {
    const dir = await fresh();
    await mkdir(join(dir, 'sub'));
    await symlink('sub', join(dir, 'link'));
    const target = `${sandbox.current.host}:${dir}/link`;
    assertFailure(
      await runCli(['push', ...cfg(), target], 'x'),
      4,
      'push',
      target,
      /^is a directory$/,
    );
    assert.ok((await lstat(join(dir, 'link'))).isSymbolicLink());
    assert.deepEqual(await readdir(join(dir, 'sub')), []);
  });
});

describe('missing remote tools exit 4 and say what is missing', () => {
  // sshd's SetEnv sets PATH for the session: a directory with every tool but the hash tools
  // and gzip. The login shell must not reset PATH, so log in as a sh user when root.
  let bare: Sandbox | undefined;
  let bin: string;
  before(async () => {
    bin = join(sandbox.current.dir, 'bare-bin');
    await mkdir(bin);
    const missing = new Set(['md5sum', 'md5', 'openssl', 'gzip']);
    for (const from of ['/usr/bin', '/bin']) {
      for (const name of await readdir(from)) {
        if (missing.has(name) || existsSync(join(bin, name))) continue;
        await symlink(join(from, name), join(bin, name));
      }
    }
    bare = await startSandbox({
      ...(plain ? { user: plain.name } : {}),
      sshdConfig: [`SetEnv PATH=${bin}`],
    });
  });
  after(() => bare?.stop());

  it('the sandbox really lacks md5sum, md5, openssl and gzip', async () => {
    const result = await run('ssh', [
      ...cfg(bare),
      bare!.host,
      'command -v md5sum md5 openssl gzip; command -v sha256sum',
    ]);
    assert.equal(result.stdout, join(bin, 'sha256sum') + '\n');
  });

  for (const operation of ['push', 'pull'] as const) {
    it(`${operation}: no md5 tool`, async () => {
      const dir = await fresh(bare!.scratch);
      const kept = await precious(dir);
      const target = `${bare!.host}:${dir}/precious`;
      const result = await runCli([operation, ...cfg(bare), target], 'x');
      assertFailure(
        result,
        4,
        operation,
        target,
        /^no md5 tool on the remote host: install coreutils \(md5sum\) or openssl$/,
      );
      await kept();
    });

    // pull: the local gunzip also fails on the empty stream; the remote report must win.
    it(`${operation} -z: no gzip`, async () => {
      const dir = await fresh(bare!.scratch);
      const kept = await precious(dir);
      const target = `${bare!.host}:${dir}/precious`;
      const args = [operation, ...cfg(bare), '-z', '--checksum', 'sha256', target];
      const result = await runCli(args, 'x');
      assertFailure(
        result,
        4,
        operation,
        target,
        /^gzip not found on the remote host: install gzip$/,
      );
      await kept();
    });
  }
});

describe(
  'a lost connection exits 2; the destination is kept and the remote temp removed',
  { timeout: 60_000 },
  () => {
    it('the local ssh master is killed', async () => {
      const dir = await fresh();
      const kept = await precious(dir);
      const target = `${sandbox.current.host}:${dir}/precious`;
      const push = await pushInFlight(target, dir);
      const masters = descendants(push.child.pid!).filter((p) =>
        p.argv.includes('ControlMaster=yes'),
      );
      assert.equal(masters.length, 1);
      process.kill(masters[0]!.pid, 'SIGKILL');
      assertFailure(await within(push, 30_000), 2, 'push', target, /./);
      await kept();
    });

    // While data flows the ssh master stays up for the data session, so the end of the control
    // session itself must be noticed.
    it('the remote control script is terminated while data flows', async () => {
      const dir = await fresh();
      const kept = await precious(dir);
      const target = `${sandbox.current.host}:${dir}/precious`;
      const push = await pushInFlight(target, dir);
      await waitFor(() => remoteWriter(sandbox.current, `${dir}/precious`) !== undefined);
      const { script } = remoteSession(sandbox.current, 'push-control', `${dir}/precious`);
      assert.ok(script, 'the control script runs');
      process.kill(script.pid, 'SIGTERM');
      const result = await within(push, 8_000);
      assert.ok([2, 4].includes(result.code!), result.stderr);
      assertFailure(result, result.code!, 'push', target, /./);
      await kept();
    });

    it("the remote data writer ('cat') is killed", async () => {
      const dir = await fresh();
      const kept = await precious(dir);
      const target = `${sandbox.current.host}:${dir}/precious`;
      const push = await pushInFlight(target, dir);
      await waitFor(() => remoteWriter(sandbox.current, `${dir}/precious`) !== undefined);
      process.kill(remoteWriter(sandbox.current, `${dir}/precious`)!.pid, 'SIGKILL');
      const result = await within(push, 30_000);
      assertFailure(result, 4, 'push', target, /cat was killed by signal 9$/);
      await kept();
    });

    it('sshd goes away mid-transfer', async () => {
      const doomed = await startSandbox();
      try {
        // The file lives outside the doomed sandbox's directory, which stop() removes.
        const dir = await fresh();
        const kept = await precious(dir);
        const target = `${doomed.host}:${dir}/precious`;
        const push = await pushInFlight(target, dir, cfg(doomed));
        // Mid-transfer: the data session is up and its remote 'cat' is writing.
        await waitFor(() => remoteWriter(doomed, `${dir}/precious`) !== undefined);
        await doomed.stop();
        assertFailure(await within(push, 30_000), 2, 'push', target, /closed by remote host|lost/);
        await kept();
      } finally {
        await doomed.stop();
      }
    });

    it('pull: the ssh process is killed while writing a local file', async () => {
      const dir = await fresh();
      await writeFile(join(dir, 'big'), randomBytes(4 << 20));
      const local = await fresh();
      const kept = await precious(local, 'out');
      const target = `${sandbox.current.host}:${dir}/big`;
      const pull = start(['pull', ...cfg(), '--limit-rate', '256K', target, join(local, 'out')]);
      await waitFor(async () => (await leftovers(local)).length === 1);
      const isSsh = (p: { argv: string[] }) => p.argv[0] === 'ssh' && !p.argv.includes('-G');
      await waitFor(() => descendants(pull.child.pid!).some(isSsh));
      const ssh = descendants(pull.child.pid!).filter(isSsh);
      assert.equal(ssh.length, 1);
      process.kill(ssh[0]!.pid, 'SIGKILL');
      assertFailure(await within(pull, 30_000), 2, 'pull', target, /killed by SIGKILL/);
      await kept();
    });
  },
);

describe('SIGKILL of sshstream', () => {
  it('leaves the destination as it was; the remote side removes its temporary file', async () => {
    const dir = await fresh();
    const kept = await precious(dir);
    const push = await pushInFlight(`${sandbox.current.host}:${dir}/precious`, dir);
    const children = descendants(push.child.pid!);
    push.child.kill('SIGKILL');
    await within(push, 30_000);
    await kept();
    // Our ssh processes see EOF on stdin and go away on their own.
    await waitFor(() => children.every((p) => !existsSync(`/proc/${p.pid}`)), 10_000);
  });
});

describe('remote text is shown escaped', () => {
  it('an error naming a directory with an escape sequence in it', async (t) => {
    if (!rootOnly(t)) return;
    const dir = join(await fresh(), 'red\x1b[31m\x07dir');
    await mkdir(dir);
    const target = `${plain!.name}@${sandbox.current.host}:${dir}/f`;
    const result = await runCli(['push', ...cfg(), target], 'x');
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^[^\n]*\n$/);
    assert.doesNotMatch(result.stderr, /[\x07\x1b]/);
    const escaped = 'red\\x1b[31m\\x07dir';
    // Once in the target we echo, once in the remote shell's message.
    assert.equal(result.stderr.split(escaped).length - 1, 2, result.stderr);
    assert.match(result.stderr, /: permission denied: cannot create files in .*dir\n$/);
  });

  it("ssh's own diagnostics with control characters", async () => {
    const dir = await fresh();
    const evil = join(dir, 'evil-ssh');
    await writeFile(
      evil,
      "#!/bin/sh\nprintf 'evil\\033]0;owned\\007 \\033[2J\\r\\n' >&2\nexit 255\n",
      { mode: 0o755 },
    );
    const target = `${sandbox.current.host}:${dir}/f`;
    const result = await runCli(['push', '--ssh', evil, target], 'x');
    assertFailure(result, 2, 'push', target, /^evil\\x1b\]0;owned\\x07 \\x1b\[2J$/);
  });
});

describe('cleanup', () => {
  it('no stray mounts', async (t: TestContext) => {
    if (!rootOnly(t, 'needs root')) return;
    const mounts = await readFile('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(sandbox.current.scratch));
  });
});
