// The remote pull keeps its fifos in a private work directory: it must go in every ending, not
// only a normal one (a reader that closed early, Ctrl-C), and a read-only TMPDIR must not stop a
// pull. The remote side runs as a bash user whose ~/.bashrc points TMPDIR at a directory of this
// test's own, so other tests' work directories never count.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { md5, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureUser, shellPath, userDir, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly, skipOrFail } from '../helpers/prerequisites.js';

const sandbox = useSandbox();

describe('the remote work directory of a pull', { concurrency: 1 }, () => {
  let user: TestUser | undefined;
  let tmp: string;
  let src: string;
  let at: string;
  const data = randomBytes(4 * 1024 * 1024);
  const skip = (t: { skip: (message: string) => void }): boolean => {
    if (!rootOnly(t, 'needs root (a test user with its own TMPDIR)')) return true;
    if (!user) skipOrFail(t, 'bash is not installed');
    return !user;
  };
  const setTmpdir = (dir: string) =>
    writeFile(join(user!.home, '.bashrc'), `export TMPDIR='${dir}'\n`);

  before(async () => {
    if (!isRoot() || shellPath('bash') === undefined) return;
    user = await ensureUser('sshstream-pulltmp', 'bash');
    const dir = await userDir(sandbox.current.scratch, 'pull-workdir', user);
    tmp = await userDir(dir, 'tmp', user);
    src = join(dir, 'src');
    await writeFile(src, data);
    at = `${user.name}@${sandbox.current.host}:${src}`;
    await setTmpdir(tmp);
  });

  const left = async () => (await readdir(tmp)).filter((name) => name.startsWith('.sshstream-'));

  it('is gone after the reader of stdout closed early (| head -c 10)', async (t) => {
    if (skip(t)) return;
    const run = startCli(['pull', '-F', sandbox.current.configPath, '--limit-rate', '1M', at]);
    // The work directory exists while the data flows: the check below is not vacuous.
    await waitFor(async () => (await left()).length > 0);
    let got = 0;
    run.child.stdout!.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= 10) run.child.stdout!.destroy();
    });
    await run.done;
    await waitFor(async () => (await left()).length === 0).catch(() => {});
    assert.deepEqual(await left(), []);
  });

  it('is gone after SIGINT mid-pull', async (t) => {
    if (skip(t)) return;
    const run = startCli(['pull', '-F', sandbox.current.configPath, '--limit-rate', '1M', at]);
    await waitFor(async () => (await left()).length > 0);
    await new Promise((resolve) => run.child.stdout!.once('data', resolve));
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    await waitFor(async () => (await left()).length === 0).catch(() => {});
    assert.deepEqual(await left(), []);
  });

  it('falls back to another directory when TMPDIR is read-only', async (t) => {
    if (skip(t)) return;
    const readOnly = join(tmp, 'read-only');
    await mkdir(readOnly, { recursive: true });
    await chmod(readOnly, 0o555);
    await setTmpdir(readOnly);
    try {
      const run = startCli(['pull', '-F', sandbox.current.configPath, at]);
      const result = await run.done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(result.stdout), md5(data));
    } finally {
      await setTmpdir(tmp);
    }
  });
});
