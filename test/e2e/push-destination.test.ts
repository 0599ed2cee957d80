// A push replaces only a regular file (or a link to one) or creates a missing one: a FIFO or a
// device is refused before any data is sent, and a destination that turns into a directory, or
// whose directory goes away, while the data comes in fails with exit 4 and commits nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { leftovers, md5, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

// Starts a push of more than the inline limit, so a data session runs, and resolves once its
// temporary file holds data: the push is under way. `finish` ends the input.
async function pushUnderway(dir: string, path: string) {
  const run = startCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${path}`]);
  const data = randomBytes(256 * 1024);
  run.child.stdin!.write(data);
  await waitFor(async () => {
    // The temporary file itself: the control script's .owner and the like hold data at once.
    const temps = (await leftovers(dir).catch(() => [])).filter((name) => name.endsWith('.tmp'));
    const sizes = await Promise.all(temps.map((name) => stat(join(dir, name)).then((s) => s.size)));
    return sizes.some((size) => size > 0);
  }, 30_000);
  return { finish: () => (run.child.stdin!.end(data), run.done) };
}

describe('push destination that is not a regular file (real sshd)', () => {
  it('refuses a FIFO with exit 4 and leaves it a FIFO', async () => {
    const dir = await sandbox.fresh();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const result = await runCli(
      ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${fifo}`],
      'data',
    );
    assert.equal(result.code, 4, result.stderr);
    assert.match(
      result.stderr,
      /push .*fifo: is a FIFO, not a regular file: refusing to replace it/,
    );
    assert.ok((await lstat(fifo)).isFIFO());
    assert.deepEqual(await leftovers(dir), []);
  });

  it('refuses a character device (a /dev/null) with exit 4, also for a big input', async () => {
    const dir = await sandbox.fresh();
    const device = join(dir, 'null');
    execFileSync('mknod', [device, 'c', '1', '3']);
    for (const input of [Buffer.from('x'), randomBytes(1 << 20)]) {
      const result = await runCli(
        ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${device}`],
        input,
      );
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr, /is a character device, not a regular file/);
      assert.ok((await lstat(device)).isCharacterDevice());
    }
    assert.deepEqual(await leftovers(dir), []);
  });

  it('still replaces a symbolic link to a regular file with the file (like rsync)', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'real'), 'old');
    execFileSync('ln', ['-s', 'real', join(dir, 'link')]);
    const result = await runCli(
      ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${dir}/link`],
      'new',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok((await lstat(join(dir, 'link'))).isFile());
    assert.equal(await readFile(join(dir, 'real'), 'utf8'), 'old');
  });

  it('a destination replaced by a directory mid-push: exit 4, nothing lands inside it', async () => {
    const dir = await sandbox.fresh();
    const dst = join(dir, 'dst');
    await writeFile(dst, 'original');
    const push = await pushUnderway(dir, dst);
    await rm(dst);
    await mkdir(dst);
    const result = await push.finish();
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /became a directory during the push; nothing committed/);
    assert.deepEqual(await readdir(dst), []);
    assert.deepEqual(await leftovers(dir), []);
  });

  it("the destination's directory removed mid-push: exit 4", async () => {
    const dir = await sandbox.fresh();
    const sub = join(dir, 'sub');
    await mkdir(sub);
    const push = await pushUnderway(sub, join(sub, 'f'));
    await rm(sub, { recursive: true });
    const result = await push.finish();
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /removed during the push.*nothing committed/);
    await assert.rejects(stat(sub));
  });

  it('an ordinary push still lands (sanity)', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(300 * 1024);
    const result = await runCli(
      ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${dir}/ok`],
      data,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(join(dir, 'ok'))), md5(data));
  });
});
