import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { leftovers, md5, waitFor, writeCorruptingSsh } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

describe('sshstream push (real sshd)', () => {
  for (const size of [0, 1, 64 * 1024 * 1024]) {
    it(`pushes ${size} bytes byte-identical, with a verified summary`, async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(size);
      const result = await runCli(
        ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${dir}/f`],
        data,
      );
      assert.equal(result.code, 0, result.stderr);
      const landed = await readFile(join(dir, 'f'));
      assert.equal(landed.length, size);
      assert.equal(md5(landed), md5(data));
      assert.match(result.stderr, new RegExp(`md5 ${md5(data)} verified`));
      assert.deepEqual(await leftovers(dir), []);
    });
  }

  it('--json prints one result object on stdout', async () => {
    const dir = await sandbox.fresh();
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '--json', '-q', `${sandbox.current.host}:${dir}/j`],
      'hello',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const json = JSON.parse(result.stdout.toString('utf8')) as Record<string, unknown>;
    assert.equal(json['target'], `${sandbox.current.host}:${dir}/j`);
    assert.equal(json['bytes'], 5);
    assert.equal(json['md5'], md5('hello'));
    assert.equal(typeof json['seconds'], 'number');
    assert.equal(json['verified'], true);
  });

  it('overwriting keeps the permission bits; --mode sets them; a new file gets 0666 & ~umask', async () => {
    const dir = await sandbox.fresh();
    const existing = join(dir, 'kept');
    await writeFile(existing, 'old');
    await chmod(existing, 0o600);
    assert.equal(
      (await runCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${existing}`], 'new'))
        .code,
      0,
    );
    assert.equal((await stat(existing)).mode & 0o777, 0o600);
    assert.equal(await readFile(existing, 'utf8'), 'new');
    const moded = join(dir, 'moded');
    assert.equal(
      (
        await runCli(
          ['push', ...sandbox.sshArgs, '--mode', '640', `${sandbox.current.host}:${moded}`],
          'x',
        )
      ).code,
      0,
    );
    assert.equal((await stat(moded)).mode & 0o777, 0o640);
    const created = join(dir, 'created');
    assert.equal(
      (await runCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${created}`], 'x')).code,
      0,
    );
    assert.equal((await stat(created)).mode & 0o777, 0o666 & ~0o022);
  });

  it('a missing remote directory exits 4 naming host, path and cause; --mkdir creates it', async () => {
    const dir = await sandbox.fresh();
    const target = `${sandbox.current.host}:${dir}/no/such/f`;
    const result = await runCli(['push', ...sandbox.sshArgs, target], 'x');
    assert.equal(result.code, 4);
    assert.equal(
      result.stderr,
      `sshstream: push ${target}: no such directory (use --mkdir to create it)\n`,
    );
    const made = await runCli(['push', ...sandbox.sshArgs, '--mkdir', target], 'x');
    assert.equal(made.code, 0, made.stderr);
    assert.equal(await readFile(join(dir, 'no/such/f'), 'utf8'), 'x');
  });

  it("a closed port exits 2 with ssh's reason on one line", async () => {
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '-p', '1', `${sandbox.current.host}:/tmp/x`],
      'x',
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^sshstream: push sandbox:\/tmp\/x: .*Connection refused\n$/);
  });

  it('refuses hosts that ssh could read as options, before running ssh (exit 1)', async () => {
    for (const target of ['-oProxyCommand=touch /tmp/pwned:x', 'a b:x', 'host;id:x', '-l:x']) {
      const result = await runCli(['push', ...sandbox.sshArgs, '--', target], 'x');
      assert.equal(result.code, 1, target);
      assert.match(result.stderr, /^sshstream: push .*refused (host|user)/);
    }
  });

  it('--ssh takes a command with VAR=value assignments in front, like GIT_SSH_COMMAND', async () => {
    const dir = await sandbox.fresh();
    const ssh = `SSHSTREAM_MARK=1 ssh -F ${sandbox.current.configPath}`;
    const result = await runCli(['push', '--ssh', ssh, `${sandbox.current.host}:${dir}/v`], 'via');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(dir, 'v'), 'utf8'), 'via');
  });

  it('a hash mismatch in transit exits 3 and commits nothing', async () => {
    const dir = await sandbox.fresh();
    const target = join(dir, 'precious');
    await writeFile(target, 'original');
    // A wrapper around the real ssh that flips bytes on the data session only (the one that
    // rides the master with ControlMaster=no): corruption the transport did not catch.
    const wrapper = await writeCorruptingSsh(dir, '*ControlMaster=no*');
    // Larger than INLINE_LIMIT, so the bytes travel on the data session.
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '--ssh', wrapper, `${sandbox.current.host}:${target}`],
      'banana'.repeat(10_000),
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /verification failed: .*nothing committed/);
    assert.equal(await readFile(target, 'utf8'), 'original');
    assert.deepEqual(await leftovers(dir), []);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} mid-stream exits ${code}, keeps the old file and removes the temporary one`, async () => {
      const dir = await sandbox.fresh();
      const target = join(dir, 'kept');
      await writeFile(target, 'old contents');
      const run = startCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${target}`]);
      run.child.stdin!.write(randomBytes(256 * 1024));
      await waitFor(async () => (await leftovers(dir)).length >= 1);
      run.child.kill(signal);
      const result = await run.done;
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, /interrupted|terminated/);
      assert.equal(await readFile(target, 'utf8'), 'old contents');
      assert.deepEqual(await leftovers(dir), []);
    });
  }

  it('a killed ssh child mid-stream exits 2 and leaves the destination and no temporary file', async () => {
    const dir = await sandbox.fresh();
    const target = join(dir, 'kept');
    await writeFile(target, 'old contents');
    const run = startCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${target}`]);
    run.child.stdin!.write(randomBytes(256 * 1024));
    await waitFor(async () => (await leftovers(dir)).length >= 1);
    const { execFileSync } = await import('node:child_process');
    const pids = execFileSync('pgrep', ['-P', String(run.child.pid), '-f', 'ControlMaster=no'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    assert.ok(pids.length >= 1 && pids[0] !== '');
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    const result = await run.done;
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /killed by SIGKILL/);
    assert.equal(await readFile(target, 'utf8'), 'old contents');
    await waitFor(async () => (await leftovers(dir)).length === 0);
  });

  it('stdin in tiny and in large chunks lands byte-identical', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(300 * 1024);
    for (const chunk of [1, 7, 4096, 1 << 20]) {
      const run = startCli([
        'push',
        ...sandbox.sshArgs,
        `${sandbox.current.host}:${dir}/c${chunk}`,
      ]);
      let offset = 0;
      // Small chunks are written one per turn of the event loop so they arrive as separate reads.
      const limit = chunk === 1 ? 2048 : data.length;
      while (offset < limit) {
        const piece = data.subarray(offset, Math.min(limit, offset + chunk));
        if (!run.child.stdin!.write(piece))
          await new Promise((r) => run.child.stdin!.once('drain', r));
        offset += piece.length;
        if (chunk < 4096 && offset % (chunk * 64) === 0) await new Promise((r) => setImmediate(r));
      }
      run.child.stdin!.end();
      const result = await run.done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(join(dir, `c${chunk}`))), md5(data.subarray(0, limit)));
    }
  });
});
