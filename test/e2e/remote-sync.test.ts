// The data session writes the file back every quarter second with `sync FILE`. Where sync
// ignores its FILE (BSD, macOS) that would be a whole-system sync four times a second: it must
// find that out once and stop. The sandbox's PATH puts such a sync, which counts its calls,
// before the system's.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { md5, writeScript } from '../helpers/files.js';
import { ensureUser, userDir, type TestUser } from '../helpers/users.js';
import { isRoot } from '../helpers/prerequisites.js';

describe('a remote sync that ignores its FILE argument', () => {
  let sandbox: Sandbox | undefined;
  let user: TestUser | undefined;
  let calls = '';
  let bin = '';
  before(async () => {
    // The login shell must not reset PATH: log in as a sh user when root.
    user = isRoot() ? await ensureUser('sshstream-sh', 'sh') : undefined;
    bin = await mkdtemp(join(tmpdir(), 'sshstream-bsd-sync-'));
    await chmod(bin, 0o755); // the login user runs it
    calls = join(bin, 'calls');
    await writeFile(calls, '');
    await chmod(calls, 0o666); // the login user appends to it
    await writeScript(bin, 'sync', `echo "$*" >> '${calls}'\nexit 0\n`);
    sandbox = await startSandbox({
      ...(user ? { user: user.name } : {}),
      sshdConfig: [`SetEnv PATH=${bin}:/usr/bin:/bin`],
    });
  });
  after(async () => {
    await sandbox?.stop();
    await rm(bin, { recursive: true, force: true });
  });

  it('is called a few times per push, not four times a second', async () => {
    const dir = await userDir(sandbox!.scratch, 'bsd-sync', user);
    const data = randomBytes(3 * 1024 * 1024);
    const result = await runCli(
      ['push', '-F', sandbox!.configPath, '--limit-rate', '1M', `${sandbox!.host}:${dir}/out`],
      data,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    const made = (await readFile(calls, 'utf8')).split('\n').filter((line) => line !== '');
    // The probe, and the fsync before the rename (and its fallback): never the 0.25 s loop.
    assert.ok(made.length >= 1, 'the counting sync was never run: is it on the PATH?');
    assert.ok(made.length <= 3, `${made.length} sync calls in a 3 s push:\n${made.join('\n')}`);
  });
});
