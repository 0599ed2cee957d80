// A user whose ssh config has ControlMaster auto + ControlPath + ControlPersist authenticates
// once, then rides that master (one password or 2FA prompt), as with scp and rsync. Push must
// ride it too, and never stop it: not when done, not when aborted or interrupted. sshd logs
// every login (LogLevel VERBOSE), so a push that logged in again is seen in its log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPushStream } from '../../lib/index.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { settled, startCli } from '../helpers/cli.js';
import { leftovers, md5, waitFor } from '../helpers/files.js';
import { freshDir } from '../helpers/sandbox.js';
import { ensureUser, type TestUser } from '../helpers/users.js';
import { isRoot } from '../helpers/prerequisites.js';

const run = promisify(execFile);

let sandbox: Sandbox;
let user: TestUser | undefined;
// The user's client side: an ssh config with a ControlMaster, and where its socket lives.
const local = mkdtempSync(join(tmpdir(), 'sshstream-user-master-'));
const config = join(local, 'ssh_config');

before(async () => {
  // As root, log in as a sh user: root's login shell is slow to start here.
  user = isRoot() ? await ensureUser('sshstream-sh', 'sh') : undefined;
  sandbox = await startSandbox({
    ...(user ? { user: user.name } : {}),
    sshdConfig: ['LogLevel VERBOSE'],
  });
  writeFileSync(
    config,
    `Include ${sandbox.configPath}\n` +
      `Host *\n  ControlMaster auto\n  ControlPath ${local}/cm-%C\n  ControlPersist 300\n`,
  );
});
after(async () => {
  await ssh(['-O', 'exit']).catch(() => undefined);
  await sandbox?.stop();
  rmSync(local, { recursive: true, force: true });
});

function ssh(args: string[]) {
  return run('ssh', ['-F', config, ...args, '--', sandbox.host, 'true'], { timeout: 20_000 });
}

// The pid of the user's running master, from `ssh -O check` (undefined when none runs).
async function masterPid(): Promise<number | undefined> {
  const checked = await ssh(['-O', 'check']).catch(() => undefined);
  const pid = /pid=(\d+)/.exec(checked?.stderr ?? '')?.[1];
  return pid === undefined ? undefined : Number(pid);
}

// Logins sshd accepted so far.
const logins = (): number => sandbox.log().match(/Accepted publickey for /g)?.length ?? 0;

// Starts the user's master (ControlPersist sends it to the background) unless one runs.
async function startMaster(): Promise<number> {
  if ((await masterPid()) === undefined) await ssh([]);
  const pid = await masterPid();
  assert.ok(pid, 'the user master is running');
  return pid;
}

describe("the user's ControlMaster (real sshd)", () => {
  it('push and pull ride the running master: no new login, and the master keeps running', async () => {
    const pid = await startMaster();
    const before = logins();
    const dir = await freshDir(sandbox);
    const target = `${sandbox.host}:${dir}/file`;
    for (const size of [1000, 300 * 1024]) {
      const data = randomBytes(size);
      const pushed = await settled(startCli(['push', '-F', config, target]), data);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(md5(await readFile(join(dir, 'file'))), md5(data));
      const pulled = await settled(startCli(['pull', '-F', config, target]));
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(md5(pulled.stdout), md5(data));
    }
    assert.equal(logins(), before, 'no push or pull logged in again');
    assert.equal(await masterPid(), pid, 'the same master still runs');
  });

  it('a fan-out to 3 paths on that host rides it too', async () => {
    const pid = await startMaster();
    const before = logins();
    const dir = await freshDir(sandbox);
    const data = randomBytes(200 * 1024);
    const targets = ['a', 'b', 'c'].map((name) => `${sandbox.host}:${dir}/${name}`);
    const pushed = await settled(startCli(['push', '-F', config, ...targets]), data);
    assert.equal(pushed.code, 0, pushed.stderr);
    for (const name of ['a', 'b', 'c']) {
      assert.equal(md5(await readFile(join(dir, name))), md5(data));
    }
    assert.equal(logins(), before, 'no target logged in again');
    assert.equal(await masterPid(), pid);
  });

  it('an aborted library push cleans up and leaves the master running', async () => {
    const pid = await startMaster();
    const before = logins();
    const dir = await freshDir(sandbox);
    const controller = new AbortController();
    const input = new PassThrough();
    input.write(randomBytes(1 << 20));
    const push = createPushStream(`${sandbox.host}:${dir}/file`, {
      config,
      signal: controller.signal,
    });
    const done = pipeline(input, push);
    await waitFor(async () => (await leftovers(dir)).length > 0, 30_000);
    controller.abort();
    await assert.rejects(done, { name: 'AbortError' });
    await waitFor(async () => (await leftovers(dir)).length === 0);
    assert.equal(logins(), before);
    assert.equal(await masterPid(), pid, 'abort did not stop the master');
  });

  it('SIGINT mid-push exits 130 and leaves the master running', async () => {
    const pid = await startMaster();
    const before = logins();
    const dir = await freshDir(sandbox);
    const cli = startCli(['push', '-F', config, `${sandbox.host}:${dir}/file`]);
    cli.child.stdin!.write(randomBytes(1 << 20));
    await waitFor(async () => (await leftovers(dir)).length > 0, 30_000);
    cli.child.kill('SIGINT');
    const result = await settled(cli);
    assert.equal(result.code, 130, result.stderr);
    await waitFor(async () => (await leftovers(dir)).length === 0);
    assert.equal(logins(), before);
    assert.equal(await masterPid(), pid, 'SIGINT did not stop the master');
  });

  it('without a running master, push uses its own connection and starts none for the user', async () => {
    await ssh(['-O', 'exit']).catch(() => undefined);
    await waitFor(async () => (await masterPid()) === undefined);
    const dir = await freshDir(sandbox);
    const data = randomBytes(100 * 1024);
    const pushed = await settled(
      startCli(['push', '-F', config, `${sandbox.host}:${dir}/f`]),
      data,
    );
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(md5(await readFile(join(dir, 'f'))), md5(data));
    assert.equal(await masterPid(), undefined, 'push left no persistent master behind');
  });
});
