import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, runCli } from '../helpers/cli.js';
import { leftovers, md5, writeScript } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

describe('sshstream pull (real sshd)', () => {
  for (const size of [0, 1, 5 * 1024 * 1024 + 3]) {
    it(`pulls ${size} bytes to stdout and to a file, byte-identical`, async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(size);
      await writeFile(join(dir, 'src'), data);
      const toStdout = await runCli([
        'pull',
        ...sandbox.sshArgs,
        `${sandbox.current.host}:${dir}/src`,
      ]);
      assert.equal(toStdout.code, 0, toStdout.stderr);
      assert.equal(md5(toStdout.stdout), md5(data));
      assert.match(toStdout.stderr, new RegExp(`pulled .* md5 ${md5(data)} verified`));
      const local = join(dir, 'local copy');
      const toFile = await runCli([
        'pull',
        ...sandbox.sshArgs,
        `${sandbox.current.host}:${dir}/src`,
        local,
      ]);
      assert.equal(toFile.code, 0, toFile.stderr);
      assert.equal(md5(await readFile(local)), md5(data));
      assert.deepEqual(await leftovers(dir), []);
    });
  }

  it('"-" as FILE is stdout, as for tar and curl: no file named - appears', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(1000);
    await writeFile(join(dir, 'src'), data);
    const source = `${sandbox.current.host}:${dir}/src`;
    const args = [CLI, 'pull', '-q', ...sandbox.sshArgs, source, '-'];
    const stdout = execFileSync(process.execPath, args, { cwd: dir });
    assert.equal(md5(stdout), md5(data));
    assert.equal(existsSync(join(dir, '-')), false);
  });

  for (const compress of [['-z'], ['--compress', 'zstd']]) {
    it(`round-trips with ${compress.join(' ')} in both directions`, async () => {
      const dir = await sandbox.fresh();
      const data = Buffer.concat([
        randomBytes(100_000),
        Buffer.from('log line 42\n'.repeat(50_000)),
      ]);
      const pushed = await runCli(
        ['push', ...sandbox.sshArgs, ...compress, `${sandbox.current.host}:${dir}/f`],
        data,
      );
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(md5(await readFile(join(dir, 'f'))), md5(data));
      const pulled = await runCli([
        'pull',
        ...sandbox.sshArgs,
        ...compress,
        `${sandbox.current.host}:${dir}/f`,
      ]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(md5(pulled.stdout), md5(data));
    });
  }

  for (const checksum of ['md5', 'sha1', 'sha256', 'none']) {
    it(`--checksum ${checksum} reports the right digest both ways`, async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(70_000);
      const pushed = await runCli(
        [
          'push',
          ...sandbox.sshArgs,
          '--json',
          '--checksum',
          checksum,
          `${sandbox.current.host}:${dir}/f`,
        ],
        data,
      );
      assert.equal(pushed.code, 0, pushed.stderr);
      const expected =
        checksum === 'none'
          ? ''
          : (await import('node:crypto')).createHash(checksum).update(data).digest('hex');
      assert.equal(JSON.parse(pushed.stdout.toString()).digest, expected);
      const pulled = await runCli([
        'pull',
        ...sandbox.sshArgs,
        '--json',
        '--checksum',
        checksum,
        `${sandbox.current.host}:${dir}/f`,
        join(dir, 'back'),
      ]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(JSON.parse(pulled.stdout.toString()).digest, expected);
      assert.equal(md5(await readFile(join(dir, 'back'))), md5(data));
    });
  }

  it('a missing remote file exits 4 and creates no local file', async () => {
    const dir = await sandbox.fresh();
    const local = join(dir, 'out');
    const source = `${sandbox.current.host}:${dir}/missing`;
    const result = await runCli(['pull', ...sandbox.sshArgs, source, local]);
    assert.equal(result.code, 4);
    assert.equal(result.stderr, `sshstream: pull ${source}: no such file\n`);
    await assert.rejects(stat(local), { code: 'ENOENT' });
    assert.deepEqual(await leftovers(dir), []);
  });

  it('a corrupted stream is detected: exit 3, an existing local file is left as it was', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'src'), 'banana');
    const local = join(dir, 'local');
    await writeFile(local, 'previous');
    await chmod(local, 0o640);
    // Corrupts what the remote side sends after its header: a transport fault the hash catches.
    const wrapper = await writeScript(dir, 'corrupting-ssh', 'ssh "$@" | sed "2,\\$s/a/b/g"\n');
    const result = await runCli([
      'pull',
      ...sandbox.sshArgs,
      '--ssh',
      wrapper,
      `${sandbox.current.host}:${dir}/src`,
      local,
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /verification failed/);
    assert.equal(await readFile(local, 'utf8'), 'previous');
    assert.equal((await stat(local)).mode & 0o777, 0o640);
    assert.deepEqual(await leftovers(dir), []);
    const toStdout = await runCli([
      'pull',
      ...sandbox.sshArgs,
      '--ssh',
      wrapper,
      `${sandbox.current.host}:${dir}/src`,
    ]);
    assert.equal(toStdout.code, 3);
    assert.equal(toStdout.stdout.toString(), 'bbnbnb');
  });

  it('a reader that closes early ends it quietly and promptly, leaving no ssh behind', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'big'), randomBytes(32 * 1024 * 1024));
    const started = Date.now();
    const output = execFileSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${CLI}" pull -F "$1" "$2" | head -c 10 | wc -c; echo "status \${PIPESTATUS[0]}"`,
        'x',
        sandbox.current.configPath,
        `${sandbox.current.host}:${dir}/big`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.match(output, /^10\nstatus 141\n$/);
    assert.ok(Date.now() - started < 30_000);
    // pgrep exits 1 when nothing matches: no ssh client for this sandbox is left running.
    assert.throws(
      () =>
        execFileSync('pgrep', ['-f', `^ssh .*${sandbox.current.configPath}`], { stdio: 'pipe' }),
      { status: 1 },
    );
  });

  it('stdout closed (>&-): exit 5 with one line before connecting; >/dev/null still pulls', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'src'), randomBytes(64 * 1024));
    const pullWith = (redirect: string) => {
      const command = `exec "$0" "$1" pull -F "$2" "$3" ${redirect}`;
      const args = [process.execPath, CLI, sandbox.current.configPath];
      const child = spawn('sh', ['-c', command, ...args, `${sandbox.current.host}:${dir}/src`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      return new Promise<{ code: number | null; stderr: string }>((resolve) =>
        child.on('close', (code) => resolve({ code, stderr })),
      );
    };
    const closed = await pullWith('>&-');
    assert.equal(closed.code, 5, closed.stderr);
    assert.match(closed.stderr, /^sshstream: pull .*src: cannot write output: stdout is closed/);
    assert.equal(closed.stderr.trim().split('\n').length, 1, closed.stderr);
    const discarded = await pullWith('>/dev/null');
    assert.equal(discarded.code, 0, discarded.stderr);
  });

  it('--progress without a terminal prints plain lines on stderr, never on stdout', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(3 * 1024 * 1024);
    await writeFile(join(dir, 'src'), data);
    const result = await runCli([
      'pull',
      ...sandbox.sshArgs,
      '--progress',
      '--limit-rate',
      '1M',
      `${sandbox.current.host}:${dir}/src`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(result.stdout), md5(data));
    assert.doesNotMatch(result.stderr, /\r/);
    assert.doesNotMatch(result.stderr, /Warning/);
    const lines = result.stderr.trim().split('\n');
    assert.ok(lines.length >= 3, result.stderr);
    assert.match(result.stderr, /%/);
    // The final progress line is not a copy of the one before it.
    const progress = lines.filter((line) => line.startsWith('pull '));
    assert.notEqual(progress.at(-1), progress.at(-2), result.stderr);
  });

  it('pull to stdout on the terminal stderr is on: no progress drawn into the data', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(1536 * 1024).toString('base64');
    await writeFile(join(dir, 'text'), data);
    // `script` gives the CLI one pseudo-terminal as both stdout and stderr, as an interactive shell does.
    const command = `"${process.execPath}" "${CLI}" pull -F "${sandbox.current.configPath}" --limit-rate 1M "${sandbox.current.host}:${dir}/text"`;
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, screen.slice(-500));
    assert.ok(screen.includes(data), 'the data reached the terminal whole');
    assert.doesNotMatch(screen, /\x1b\[K/, 'a progress line was drawn');
    assert.match(screen, /verified/);
  });

  it('progress on a terminal redraws one line with \\r and shows percent', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(2 * 1024 * 1024);
    await writeFile(join(dir, 'src'), data);
    // `script` gives the CLI a pseudo-terminal as stderr; the data still goes to a file.
    const command = `"${process.execPath}" "${CLI}" push -F "${sandbox.current.configPath}" --limit-rate 1M "${sandbox.current.host}:${dir}/dst" < "${dir}/src"`;
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, screen);
    assert.match(screen, /\r/);
    assert.match(screen, /\d+%/);
    assert.match(screen, /verified/);
    assert.equal(md5(await readFile(join(dir, 'dst'))), md5(data));
  });

  it('--limit-rate holds the rate down (lower bound only; timings are for the benchmark)', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(3 * 1024 * 1024);
    const started = performance.now();
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '--limit-rate', '1M', `${sandbox.current.host}:${dir}/f`],
      data,
    );
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(seconds >= 2.5, `3 MiB at 1 MiB/s took only ${seconds}s`);
    assert.equal(md5(await readFile(join(dir, 'f'))), md5(data));
  });
});
