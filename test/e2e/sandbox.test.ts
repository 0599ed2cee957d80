import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findSshd, startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { isRoot, rootOnly } from '../helpers/prerequisites.js';
import { ensureUser as ensureShellUser } from '../helpers/users.js';

const run = promisify(execFile);
const TEST_USER = 'sshstream-test';
const BASHRC_USER = 'sshstream-bashrc';
const LOCKED_USER = 'sshstream-locked';
const sandboxModule = fileURLToPath(new URL('../../lib/sandbox/sandbox.js', import.meta.url));

const ssh = async (sandbox: Sandbox, alias: string, command: string): Promise<string> =>
  (await run('ssh', [...sandbox.sshArgs, alias, command], { timeout: 20_000 })).stdout;

// Resolves to the connect error code, or 'connected'.
const tryConnect = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });

const ensureUser = async (name: string, shadowPassword: string): Promise<void> => {
  const exists = await run('id', ['-u', name]).then(
    () => true,
    () => false,
  );
  if (!exists) await run('useradd', ['-m', '-p', shadowPassword, '-s', '/bin/sh', name]);
};

// Runs a node ESM snippet that imports the compiled sandbox module as `sandbox`.
const runNode = async (
  code: string,
  prefix: string[] = [],
  module = sandboxModule,
): Promise<string> => {
  const script = `import * as sandbox from ${JSON.stringify(module)};\n${code}`;
  const [command, ...args] = [...prefix, process.execPath, '--input-type=module', '-e', script];
  return (await run(command, args, { timeout: 30_000, cwd: '/' })).stdout;
};

// Another user cannot read a checkout under a 0700 directory (/root, mktemp -d): give it a copy
// of the compiled lib/ and transforms/ in a directory everyone can read, and return the sandbox
// module there.
const readableSandboxModule = async (): Promise<{ module: string; dir: string }> => {
  const dir = await mkdtemp(join('/tmp', 'sshstream-readable-'));
  await chmod(dir, 0o755);
  for (const part of ['lib', 'transforms']) {
    await cp(fileURLToPath(new URL(`../../${part}/`, import.meta.url)), join(dir, part), {
      recursive: true,
    });
    // cp keeps the modes, and a checkout made under umask 077 has 0600 files.
    for (const entry of await readdir(join(dir, part), { recursive: true })) {
      const path = join(dir, part, entry);
      await chmod(path, (await stat(path)).isDirectory() ? 0o755 : 0o644);
    }
  }
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n', { mode: 0o644 });
  return { module: join(dir, 'lib', 'sandbox', 'sandbox.js'), dir };
};

test('findSshd returns an executable sshd', async () => {
  const path = findSshd();
  assert.ok(path !== undefined && path.startsWith('/'), `absolute path, got ${path}`);
  assert.ok((await stat(path)).isFile());
});

test('logs in through the host alias and runs a command', async () => {
  const sandbox = await startSandbox();
  try {
    assert.equal(sandbox.host, 'sandbox');
    assert.deepEqual(sandbox.aliases, ['sandbox']);
    assert.deepEqual(sandbox.sshArgs, ['-F', sandbox.configPath]);
    assert.equal(sandbox.user, userInfo().username);
    assert.equal(
      await ssh(sandbox, sandbox.host, 'echo hello; id -un'),
      `hello\n${sandbox.user}\n`,
    );
    assert.equal((await stat(sandbox.dir)).mode & 0o777, 0o755);
  } finally {
    await sandbox.stop();
  }
});

// The bench gives sshd glibc's malloc settings this way (--tuned-sshd). What sshd serving a
// connection has in its environment is hidden (its process title overwrites it), but it copies
// TZ into every session's: an unusual TZ shows that serverEnv reached it.
test('serverEnv reaches the sshd that serves each connection', async () => {
  const sandbox = await startSandbox({ serverEnv: { TZ: 'XYZ+7' } });
  try {
    assert.equal(await ssh(sandbox, sandbox.host, 'echo "$TZ"'), 'XYZ+7\n');
  } finally {
    await sandbox.stop();
  }
});

test('every alias reaches the same sshd', async () => {
  const sandbox = await startSandbox({ aliases: ['sandbox-b'] });
  try {
    assert.deepEqual(sandbox.aliases, ['sandbox', 'sandbox-b']);
    const file = join(sandbox.scratch, 'via-a');
    await ssh(sandbox, 'sandbox', `echo written-by-a > ${file}`);
    assert.equal(
      await ssh(sandbox, 'sandbox-b', `cat ${file}; id -un`),
      `written-by-a\n${sandbox.user}\n`,
    );
  } finally {
    await sandbox.stop();
  }
});

test('host key checking uses the generated known_hosts', async () => {
  const sandbox = await startSandbox();
  try {
    const known = await readFile(sandbox.knownHostsPath, 'utf8');
    assert.match(known, /^sshstream-sandbox ssh-ed25519 \S+\n$/);
    const args = [...sandbox.sshArgs, '-o', 'UserKnownHostsFile=/dev/null', 'sandbox', 'true'];
    await assert.rejects(run('ssh', args), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 255);
      assert.match(error.stderr, /Host key verification failed/);
      return true;
    });
  } finally {
    await sandbox.stop();
  }
});

test('scp works through the sftp subsystem', async () => {
  const sandbox = await startSandbox();
  try {
    const local = join(sandbox.dir, 'local.txt');
    await writeFile(local, 'scp payload\n');
    await run('scp', [...sandbox.sshArgs, '-q', local, `sandbox:${sandbox.scratch}/copied.txt`]);
    assert.equal(await readFile(join(sandbox.scratch, 'copied.txt'), 'utf8'), 'scp payload\n');
  } finally {
    await sandbox.stop();
  }
});

test('stop removes the dir, closes the port and is idempotent', async () => {
  const sandbox = await startSandbox();
  assert.ok(existsSync(sandbox.configPath));
  assert.equal(await tryConnect(sandbox.port), 'connected');
  await sandbox.stop();
  assert.equal(existsSync(sandbox.dir), false);
  assert.equal(await tryConnect(sandbox.port), 'ECONNREFUSED');
  await sandbox.stop();
});

test('stop ends sessions that are still running', async () => {
  const sandbox = await startSandbox();
  const client = spawn('ssh', [...sandbox.sshArgs, 'sandbox', 'echo started; exec sleep 30']);
  const closed = once(client, 'close');
  let stderr = '';
  client.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const [first] = (await once(client.stdout, 'data')) as [Buffer];
    assert.equal(first.toString(), 'started\n');
  } finally {
    await sandbox.stop();
  }
  const timer = setTimeout(() => client.kill('SIGKILL'), 5_000);
  const [code] = (await closed) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 255, 'ssh exited by itself, not killed by the 5 s timer');
  assert.match(stderr, /closed by remote host/);
});

test('a bad sshd config fails with sshd stderr and leaves no temp dir', async () => {
  const privateTmp = await mkdtemp(join(tmpdir(), 'sbx-t-'));
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = privateTmp;
  try {
    await assert.rejects(startSandbox({ sshdConfig: ['NoSuchKeyword yes'] }), (error: Error) => {
      assert.match(error.message, /^sshd exited early \(255\): .*NoSuchKeyword/s);
      return true;
    });
    assert.deepEqual(await readdir(privateTmp), []);
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
    await rm(privateTmp, { recursive: true, force: true });
  }
});

test('rejects aliases that are not plain host names', async () => {
  await assert.rejects(startSandbox({ aliases: ['*'] }), /sandbox alias "\*"/);
  await assert.rejects(startSandbox({ aliases: ['-oProxyCommand=x'] }), /sandbox alias/);
});

test('a process that exits without stop() leaves no sshd and no temp dir', async () => {
  const out = await runNode(
    `const s = await sandbox.startSandbox(); console.log(JSON.stringify({ dir: s.dir, port: s.port }));`,
  );
  const { dir, port } = JSON.parse(out) as { dir: string; port: number };
  assert.equal(existsSync(dir), false);
  let state = await tryConnect(port);
  for (let i = 0; i < 40 && state !== 'ECONNREFUSED'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = await tryConnect(port);
  }
  assert.equal(state, 'ECONNREFUSED');
});

test('an ordinary user runs a sandbox and logs in as itself', async (t) => {
  if (!isRoot()) {
    // Already not root: the whole file is the ordinary-user run; check the refusal instead.
    await assert.rejects(startSandbox({ user: 'root' }), /only root can run an sshd/);
    return;
  }
  await ensureUser(TEST_USER, '*');
  const code = `
    const s = await sandbox.startSandbox({ aliases: ['second'] });
    const { execFileSync } = await import('node:child_process');
    const who = execFileSync('ssh', [...s.sshArgs, 'second', 'id -un'], { encoding: 'utf8' });
    const refusal = await sandbox.startSandbox({ user: 'root' }).then(() => 'started', (e) => e.message);
    await s.stop();
    const { existsSync } = await import('node:fs');
    console.log(JSON.stringify({ user: s.user, who, refusal, left: existsSync(s.dir) }));`;
  const prefix = ['runuser', '-u', TEST_USER, '--', 'env', 'TMPDIR=/tmp'];
  const readable = await readableSandboxModule();
  const result = JSON.parse(
    await runNode(code, prefix, readable.module).finally(() =>
      rm(readable.dir, { recursive: true, force: true }),
    ),
  ) as Record<string, unknown>;
  t.diagnostic(`non-root sandbox: ${JSON.stringify(result)}`);
  assert.deepEqual(result, {
    user: TEST_USER,
    who: `${TEST_USER}\n`,
    refusal: `sandbox user root: only root can run an sshd that logs in as another user (a non-root sshd can only log in as ${TEST_USER})`,
    left: false,
  });
});

test('root logs in as options.user, who owns the scratch dir', async (t) => {
  if (!rootOnly(t)) return;
  await ensureUser(TEST_USER, '*');
  const uid = Number((await run('id', ['-u', TEST_USER])).stdout);
  const sandbox = await startSandbox({ user: TEST_USER });
  try {
    assert.equal(sandbox.user, TEST_USER);
    assert.equal((await stat(sandbox.scratch)).uid, uid);
    const file = join(sandbox.scratch, 'mine');
    assert.equal(await ssh(sandbox, 'sandbox', `id -un; echo x > ${file}`), `${TEST_USER}\n`);
    assert.equal((await stat(file)).uid, uid);
  } finally {
    await sandbox.stop();
  }
});

test('a locked account is refused with the fix in the message', async (t) => {
  if (!rootOnly(t)) return;
  await ensureUser(LOCKED_USER, '!');
  await assert.rejects(
    startSandbox({ user: LOCKED_USER }),
    new RegExp(
      `^Error: sandbox user ${LOCKED_USER}: the account is locked .*usermod -p '\\*' ${LOCKED_USER}`,
    ),
  );
});

test('options.user must exist', async (t) => {
  if (!rootOnly(t)) return;
  await assert.rejects(startSandbox({ user: 'no-such-user-sshstream' }), {
    message: 'sandbox user no-such-user-sshstream: no such local user',
  });
});

// The machine's own dotfiles are not under test: a CI machine's root ~/.bashrc ran `pyenv init`,
// which waited 60 s on a stale lock at every login, and took the test run past its time limit.
test("the account running the sandbox logs in without its ~/.bashrc; a given user's is read", async (t) => {
  if (!rootOnly(t, 'needs root (a bash user with a noisy ~/.bashrc)')) return;
  const user = await ensureShellUser(BASHRC_USER, 'bash');
  await writeFile(join(user.home, '.bashrc'), 'echo bashrc-was-read\n');
  const read = await startSandbox({ user: BASHRC_USER });
  try {
    assert.equal(await ssh(read, 'sandbox', 'echo hi'), 'bashrc-was-read\nhi\n');
  } finally {
    await read.stop();
  }
  // Another user logging in to a sandbox that root runs for itself reads its own.
  const rootRun = await startSandbox();
  try {
    const other = `${BASHRC_USER}@sandbox`;
    assert.equal(await ssh(rootRun, other, 'echo hi'), 'bashrc-was-read\nhi\n');
  } finally {
    await rootRun.stop();
  }
  // sshd honours only the first SetEnv line: the caller's variables must survive.
  const skipped = await startSandbox({
    user: BASHRC_USER,
    bashrc: false,
    sshdConfig: ['SetEnv SSHSTREAM_MARK=kept'],
  });
  try {
    assert.equal(await ssh(skipped, 'sandbox', 'echo $SSHSTREAM_MARK'), 'kept\n');
  } finally {
    await skipped.stop();
  }
  // The default, as that user runs it for itself.
  const code = `
    const s = await sandbox.startSandbox();
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('ssh', [...s.sshArgs, 'sandbox', 'echo hi'], { encoding: 'utf8' });
    await s.stop();
    console.log(JSON.stringify(out));`;
  const prefix = ['runuser', '-u', BASHRC_USER, '--', 'env', 'TMPDIR=/tmp'];
  const readable = await readableSandboxModule();
  const out = await runNode(code, prefix, readable.module).finally(() =>
    rm(readable.dir, { recursive: true, force: true }),
  );
  assert.equal(JSON.parse(out), 'hi\n');
});
