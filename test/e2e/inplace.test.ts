// A single file bind-mounted over another (Docker's `-v file:file`) cannot be renamed over:
// rename(2) says EBUSY. Push must say so and point to --inplace, which still verifies in a
// temporary file, then copies it into the destination and hashes the destination again.
// Also as a BusyBox login with OpenWrt's applet set: the remote commit uses only those tools.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { push } from '../../lib/index.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { leftovers, md5 } from '../helpers/files.js';
import { ensureBusyboxUser, findBusybox } from '../helpers/busybox.js';
import { ensureUser, userDir, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly, skipOrFail } from '../helpers/prerequisites.js';

const run = promisify(execFile);

let sandbox: Sandbox | undefined;
let user: TestUser | undefined;
let busybox: TestUser | undefined;
// First on the sessions' PATH: a `cat` that copies only 100 bytes of a file named `-- DIR/*.tmp`
// when DIR holds a file `short-copy` (a fault during the in-place copy); otherwise the real one.
let bin: string | undefined;
before(async () => {
  if (!isRoot()) return;
  // Log in as a sh user: root's login shell is slow to start here.
  user = await ensureUser('sshstream-sh', 'sh');
  if (findBusybox() !== undefined) busybox = await ensureBusyboxUser();
  bin = await mkdtemp(join(tmpdir(), 'sshstream-inplace-bin-'));
  await chmod(bin, 0o755);
  await writeFile(
    join(bin, 'cat'),
    '#!/bin/sh\n' +
      'case $1,$2 in --,*.tmp) if [ -e "${2%/*}/short-copy" ]; then head -c 100 -- "$2"; exit 0; fi ;; esac\n' +
      'exec /bin/cat "$@"\n',
    { mode: 0o755 },
  );
  sandbox = await startSandbox({
    user: user.name,
    sshdConfig: [`SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`],
  });
});
after(async () => {
  await sandbox?.stop();
  if (bin) await rm(bin, { recursive: true, force: true });
});

let n = 0;
// A file `dir/dst` with a host file bind-mounted over it (unmounted when the test ends), both
// the login user's, holding `old`. Returns the destination and the host file behind it.
async function boundFile(t: TestContext, old: Buffer, owner = user!) {
  const box = sandbox!;
  const dir = await userDir(box.scratch, `inplace-${n++}`, owner);
  const host = await mkdtemp(join(tmpdir(), 'sshstream-inplace-'));
  t.after(() => rm(host, { recursive: true, force: true }));
  const source = join(host, 'config.json');
  const dst = join(dir, 'dst');
  for (const file of [source, dst]) {
    await writeFile(file, file === source ? old : 'placeholder', { mode: 0o644 });
    await chown(file, owner.uid, owner.gid);
  }
  await run('mount', ['--bind', source, dst]);
  t.after(() => run('umount', [dst]));
  return { dir, dst, source, target: `${owner.name}@${box.host}:${dst}` };
}

describe('push to a bind-mounted file (real sshd, root)', () => {
  it('without --inplace: exit 4, one line that suggests --inplace, nothing changed', async (t) => {
    if (!rootOnly(t)) return;
    const old = randomBytes(50 * 1024);
    const { dir, dst, source, target } = await boundFile(t, old);
    const result = await runCli(['push', '-F', sandbox!.configPath, target], randomBytes(40_000));
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^sshstream: .*busy.*--inplace.*\n$/i);
    assert.equal(result.stderr.split('\n').length, 2, 'one line');
    assert.equal(md5(await readFile(dst)), md5(old));
    assert.equal(md5(await readFile(source)), md5(old));
    assert.deepEqual(await leftovers(dir), []);
  });

  it('--inplace writes into it, shorter than before, verified, no temporary file left', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, source, target } = await boundFile(t, randomBytes(300 * 1024));
    const data = randomBytes(100 * 1024 + 7);
    const result = await runCli(['push', '--inplace', '-F', sandbox!.configPath, target], data);
    assert.equal(result.code, 0, result.stderr);
    // The host file behind the mount is what changed: the container's view is that file.
    assert.equal(md5(await readFile(source)), md5(data));
    assert.equal((await stat(source)).mode & 0o777, 0o644, 'an existing file keeps its mode');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('the library option inplace (a small input, and --mode)', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, source, target } = await boundFile(t, randomBytes(1000));
    const data = Buffer.from('{"small": true}\n');
    const result = await push(Readable.from([data]), target, {
      config: sandbox!.configPath,
      inplace: true,
      mode: '640',
    });
    assert.equal(result.bytes, data.length);
    assert.deepEqual(await readFile(source), data);
    assert.equal((await stat(source)).mode & 0o777, 0o640);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('a destination that differs after the in-place copy: exit 3, says it may be damaged', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, source, target } = await boundFile(t, randomBytes(5000));
    await writeFile(join(dir, 'short-copy'), '');
    const data = randomBytes(40_000);
    const result = await runCli(['push', '--inplace', '-F', sandbox!.configPath, target], data);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^sshstream: .*in-place copy.*100 bytes.*damaged.*\n$/);
    assert.equal((await stat(source)).size, 100);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('--inplace to a missing file renames as usual', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await userDir(sandbox!.scratch, `inplace-${n++}`, user);
    const data = randomBytes(30_000);
    const target = `${sandbox!.host}:${dir}/new`;
    const result = await runCli(['push', '--inplace', '-F', sandbox!.configPath, target], data);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(join(dir, 'new'))), md5(data));
    assert.deepEqual(await leftovers(dir), []);
  });
});

describe('push to a bind-mounted file as a BusyBox login (OpenWrt applets)', () => {
  it('suggests --inplace, and --inplace writes into it, verified', async (t) => {
    if (!rootOnly(t)) return;
    if (!busybox) return skipOrFail(t, 'busybox is not installed');
    const old = randomBytes(20_000);
    const { dir, source, target } = await boundFile(t, old, busybox);
    const args = ['-F', sandbox!.configPath, target];
    const data = randomBytes(70_000);
    const refused = await runCli(['push', ...args], data);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /^sshstream: .*busy.*--inplace.*\n$/i);
    assert.equal(md5(await readFile(source)), md5(old));
    const result = await runCli(['push', '--inplace', ...args], data);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(source)), md5(data));
    assert.deepEqual(await leftovers(dir), []);
  });
});
