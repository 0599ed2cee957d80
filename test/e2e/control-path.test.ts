import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { leftovers, md5, waitFor } from '../helpers/files.js';
import { descendants } from '../helpers/processes.js';
import { useShSandbox } from '../helpers/sandbox.js';

const sandbox = useShSandbox();

// A $TMPDIR of well over 65 characters, as some CI runners and per-job sandboxes set it.
let longTmp: string;
before(async () => {
  const base = await mkdtemp(join(tmpdir(), 'sshstream-long-tmpdir-'));
  longTmp = join(base, 'a-temporary-directory-whose-path-is-far-too-long-for-a-unix-socket-name');
  await mkdir(longTmp);
});
after(async () => {
  if (longTmp) await rm(dirname(longTmp), { recursive: true, force: true });
});

// The ControlPath the CLI's ssh master uses, read from its argv.
function controlPathOf(pid: number): string | undefined {
  for (const { argv } of descendants(pid)) {
    const option = argv.find((arg) => arg.startsWith('ControlPath='));
    if (argv[0] === 'ssh' && option) return option.slice('ControlPath='.length);
  }
  return undefined;
}

describe('a long $TMPDIR', () => {
  it('push still works (data on a second session), and the private control directory is gone after', async () => {
    assert.ok(longTmp.length > 65);
    const dir = await sandbox.fresh();
    const data = randomBytes(1024 * 1024);
    const run = startCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${dir}/f`], {
      TMPDIR: longTmp,
    });
    run.child.stdin!.end(data);
    let socket: string | undefined;
    await waitFor(
      () => (socket = controlPathOf(run.child.pid!)) !== undefined || run.child.exitCode !== null,
      60000,
    );
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(join(dir, 'f'))), md5(data));
    assert.ok(socket, 'the ssh master was seen');
    assert.ok(socket.length + 17 <= 103, `socket path ${socket} fits in a sockaddr_un`);
    assert.equal(existsSync(dirname(socket)), false, 'the control directory is removed');
    assert.deepEqual(await readdir(longTmp), []);
  });

  it('SIGINT mid-push: exit 130 and the private control directory (mode 0700) is removed', async () => {
    const dir = await sandbox.fresh();
    const run = startCli(
      ['push', ...sandbox.sshArgs, '--limit-rate', '256K', `${sandbox.current.host}:${dir}/g`],
      { TMPDIR: longTmp },
    );
    run.child.stdin!.write(randomBytes(4 * 1024 * 1024));
    let socket: string | undefined;
    await waitFor(() => {
      socket = controlPathOf(run.child.pid!);
      return socket !== undefined && existsSync(socket);
    }, 60000);
    assert.equal(statSync(dirname(socket!)).mode & 0o777, 0o700);
    await waitFor(async () => (await leftovers(dir)).length >= 1, 60000);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(existsSync(dirname(socket!)), false, 'the control directory is removed');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('a failed connection removes it too', async () => {
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '-p', '1', `${sandbox.current.host}:/tmp/never`],
      'x',
      { TMPDIR: longTmp },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.doesNotMatch(result.stderr, /too long/);
    assert.deepEqual(await readdir(longTmp), []);
  });
});
