import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli, type CliResult } from '../helpers/cli.js';
import { landedSize, md5, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

// Runs the CLI with a local file as stdin (resume needs a re-readable input).
async function pushFile(
  args: string[],
  input: string,
): Promise<{ result: Promise<CliResult>; pid: number }> {
  const handle = await open(input, 'r');
  const run = startCli(args, {}, handle.fd);
  void run.done.finally(() => handle.close());
  return { result: run.done, pid: run.child.pid! };
}

const partialSize = async (dir: string, name: string) =>
  (await stat(join(dir, `.${name}.sshstream-partial`)).catch(() => undefined))?.size ?? 0;

describe('resume and retries (real sshd)', () => {
  it('a killed --resume push leaves its partial file; the next one sends only the rest', async () => {
    const dir = await sandbox.fresh();
    const input = join(dir, 'input');
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(input, data);
    const target = `${sandbox.current.host}:${dir}/out`;
    const first = await pushFile(
      ['push', ...sandbox.sshArgs, '--resume', '--limit-rate', '2M', target],
      input,
    );
    await waitFor(async () => (await landedSize(dir, 'out')) > 1024 * 1024);
    process.kill(first.pid, 'SIGINT');
    assert.equal((await first.result).code, 130);
    const kept = await partialSize(dir, 'out');
    assert.ok(kept > 0 && kept < data.length, `partial of ${kept} bytes`);

    const second = await pushFile(
      ['push', ...sandbox.sshArgs, '--resume', '--json', target],
      input,
    );
    const result = await second.result;
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout.toString()) as {
      resumed: number;
      bytes: number;
      md5: string;
    };
    assert.equal(json.resumed, kept);
    assert.equal(json.bytes, data.length);
    assert.equal(json.md5, md5(data));
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.includes('sshstream')),
      [],
    );
  });

  it('a tampered partial file is detected and the transfer starts over', async () => {
    const dir = await sandbox.fresh();
    const input = join(dir, 'input');
    const data = randomBytes(4 * 1024 * 1024);
    await writeFile(input, data);
    const partial = Buffer.from(data.subarray(0, 1024 * 1024));
    partial[1000] = partial[1000]! ^ 0xff;
    await writeFile(join(dir, '.out.sshstream-partial'), partial);
    const run = await pushFile(
      ['push', ...sandbox.sshArgs, '--resume', '--json', `${sandbox.current.host}:${dir}/out`],
      input,
    );
    const result = await run.result;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout.toString()).resumed, 0);
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
  });

  it('--retries continues after a dropped connection and ends byte-identical', async () => {
    const dir = await sandbox.fresh();
    const input = join(dir, 'input');
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(input, data);
    const run = await pushFile(
      [
        'push',
        ...sandbox.sshArgs,
        '--retries',
        '2',
        '--limit-rate',
        '3M',
        '--json',
        `${sandbox.current.host}:${dir}/out`,
      ],
      input,
    );
    await waitFor(async () => (await landedSize(dir, 'out')) > 1024 * 1024);
    // Drop the connection: kill the ssh master (the data session dies with it).
    const master = execFileSync('pgrep', ['-P', String(run.pid), '-f', 'ControlMaster=yes'], {
      encoding: 'utf8',
    });
    for (const pid of master.trim().split('\n')) process.kill(Number(pid), 'SIGKILL');
    const result = await run.result;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /retry 1 of 2/);
    const json = JSON.parse(result.stdout.toString()) as { resumed: number; md5: string };
    assert.ok(json.resumed > 0, `resumed ${json.resumed}`);
    assert.equal(json.md5, md5(data));
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
  });

  it('no retry when retrying cannot help: remote I/O errors and failed authentication', async () => {
    const dir = await sandbox.fresh();
    const input = join(dir, 'input');
    await writeFile(input, 'data');
    const missing = await pushFile(
      ['push', ...sandbox.sshArgs, '--retries', '3', `${sandbox.current.host}:${dir}/no/dir/f`],
      input,
    );
    const io = await missing.result;
    assert.equal(io.code, 4);
    assert.doesNotMatch(io.stderr, /retry/);
    const auth = await pushFile(
      [
        'push',
        ...sandbox.sshArgs,
        '--retries',
        '3',
        `no-such-user@${sandbox.current.host}:${dir}/f`,
      ],
      input,
    );
    const denied = await auth.result;
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /Permission denied/);
    assert.doesNotMatch(denied.stderr, /retry/);
  });

  it('a killed --resume pull keeps its local partial file; the next one receives only the rest', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, 'remote'), data);
    const local = join(dir, 'local');
    const source = `${sandbox.current.host}:${dir}/remote`;
    const first = startCli([
      'pull',
      ...sandbox.sshArgs,
      '--resume',
      '--limit-rate',
      '2M',
      source,
      local,
    ]);
    await waitFor(async () => (await landedSize(dir, 'local')) > 1024 * 1024);
    first.child.kill('SIGINT');
    assert.equal((await first.done).code, 130);
    const kept = await partialSize(dir, 'local');
    assert.ok(kept > 0 && kept < data.length, `partial of ${kept} bytes`);
    const second = await startCli(['pull', ...sandbox.sshArgs, '--resume', '--json', source, local])
      .done;
    assert.equal(second.code, 0, second.stderr);
    const json = JSON.parse(second.stdout.toString()) as { resumed: number; md5: string };
    assert.equal(json.resumed, kept);
    assert.equal(json.md5, md5(data));
    assert.equal(md5(await readFile(local)), md5(data));
    assert.equal(await partialSize(dir, 'local'), 0);
  });

  it('a local partial file that differs from the remote file is not continued', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(2 * 1024 * 1024);
    await writeFile(join(dir, 'remote'), data);
    const partial = Buffer.from(data.subarray(0, 500_000));
    partial[10] = partial[10]! ^ 1;
    await writeFile(join(dir, '.local.sshstream-partial'), partial);
    const result = await startCli([
      'pull',
      ...sandbox.sshArgs,
      '--resume',
      '--json',
      `${sandbox.current.host}:${dir}/remote`,
      join(dir, 'local'),
    ]).done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout.toString()).resumed, 0);
    assert.equal(md5(await readFile(join(dir, 'local'))), md5(data));
  });

  it('pull --retries continues after the ssh connection is killed', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, 'remote'), data);
    const local = join(dir, 'local');
    const run = startCli([
      'pull',
      ...sandbox.sshArgs,
      '--retries',
      '2',
      '--limit-rate',
      '3M',
      '--json',
      `${sandbox.current.host}:${dir}/remote`,
      local,
    ]);
    await waitFor(async () => (await landedSize(dir, 'local')) > 1024 * 1024);
    const ssh = execFileSync('pgrep', ['-P', String(run.child.pid), '-x', 'ssh'], {
      encoding: 'utf8',
    });
    for (const pid of ssh.trim().split('\n')) process.kill(Number(pid), 'SIGKILL');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /retry 1 of 2/);
    const json = JSON.parse(result.stdout.toString()) as { resumed: number; md5: string };
    assert.ok(json.resumed > 0);
    assert.equal(md5(await readFile(local)), md5(data));
  });

  it('--resume refuses a pipe on stdin, which cannot be read again', async () => {
    const run = startCli([
      'push',
      ...sandbox.sshArgs,
      '--resume',
      `${sandbox.current.host}:/tmp/x`,
    ]);
    run.child.stdin!.end('data');
    const result = await run.done;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /need stdin to be a regular file/);
  });
});
