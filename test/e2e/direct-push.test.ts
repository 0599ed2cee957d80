// A big regular file on stdin is read by ssh itself (lib/push/direct.ts): the bytes never pass
// through node, and the local hash reads the file with pread. These tests prove the path is
// taken, that it starts at stdin's offset, and that a file changing underway is caught.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../lib/util/errors.js';
import { PushStream } from '../../lib/push/push-stream.js';
import { pushDirect } from '../../lib/push/push-with-retries.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { leftovers, md5, waitFor, writeScript } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
const BIG = 64 << 20; // the CLI's threshold for a direct push

// Runs the CLI with `file` as stdin (a regular file, as with `< file`), from `offset` on.
async function pushFile(
  file: string,
  args: string[],
  offset = 0,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const handle = await open(file, 'r');
  try {
    if (offset > 0) await handle.read(Buffer.alloc(offset), 0, offset, null); // moves the offset
    return await startCli(['push', ...args], { SSHSTREAM_DEBUG: '1', ...env }, handle.fd).done;
  } finally {
    await handle.close();
  }
}

const DIRECT = /push: ssh reads the input file itself/;

// A fresh directory with a big random `input` and an `out` that a failed push must leave as is.
async function bigInputAndOldOutput(): Promise<{ dir: string; input: string }> {
  const dir = await sandbox.fresh();
  const input = join(dir, 'input');
  await writeFile(input, randomBytes(BIG));
  await writeFile(join(dir, 'out'), 'original');
  return { dir, input };
}

describe('direct push: ssh reads a big file on stdin itself (real sshd)', () => {
  it('lands byte-identical and verified, without passing through node', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(BIG);
    await writeFile(join(dir, 'input'), data);
    const result = await pushFile(join(dir, 'input'), [
      ...sandbox.sshArgs,
      `${sandbox.current.host}:${dir}/out`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, DIRECT);
    // On loopback a login is quick: no lanes open on a guess (farLoginLanes).
    assert.doesNotMatch(result.stderr, /a far host/);
    assert.match(result.stderr, new RegExp(`md5 ${md5(data)} verified`));
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    assert.deepEqual((await leftovers(dir)).sort(), []);
  });

  it("starts at stdin's offset, like cat would", async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(BIG + 1000);
    await writeFile(join(dir, 'input'), data);
    const result = await pushFile(
      join(dir, 'input'),
      [...sandbox.sshArgs, `${sandbox.current.host}:${dir}/out`],
      1000,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, DIRECT);
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data.subarray(1000)));
  });

  it('smaller files, compression and rate limits take the path through node', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(BIG);
    await writeFile(join(dir, 'input'), data);
    await writeFile(join(dir, 'small'), data.subarray(0, 1 << 20));
    for (const [file, flags] of [
      ['small', []],
      ['input', ['-z']],
      ['input', ['--limit-rate', '1G']],
    ] as const) {
      const result = await pushFile(join(dir, file), [
        ...sandbox.sshArgs,
        ...flags,
        `${sandbox.current.host}:${dir}/out-${file}`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, DIRECT);
      assert.equal(
        md5(await readFile(join(dir, `out-${file}`))),
        md5(await readFile(join(dir, file))),
      );
    }
  });

  it('--compress auto: data that does not compress goes direct, text through zstd', async () => {
    const dir = await sandbox.fresh();
    const random = randomBytes(BIG);
    const line = 'GET /index.html 200 1234 bytes from 10.0.0.1\n';
    const text = Buffer.from(line.repeat(Math.ceil(BIG / line.length))).subarray(0, BIG);
    for (const [name, data, direct, compress] of [
      ['random', random, true, undefined],
      ['text', text, false, 'zstd'],
    ] as const) {
      await writeFile(join(dir, name), data);
      const target = `${sandbox.current.host}:${dir}/out-${name}`;
      const result = await pushFile(join(dir, name), [
        ...sandbox.sshArgs,
        '--compress',
        'auto',
        '--json',
        target,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(DIRECT.test(result.stderr), direct, result.stderr);
      const json = JSON.parse(result.stdout.toString('utf8')) as { compress?: string };
      assert.equal(json.compress, compress);
      assert.equal(md5(await readFile(join(dir, `out-${name}`))), md5(data));
    }
  });

  it('remote refusals leave no temporary file behind', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'input'), randomBytes(BIG));
    await mkdir(join(dir, 'sub'));
    for (const [path, cause] of [
      ['sub', /is a directory$/],
      ['missing/out', /no such directory/],
    ] as const) {
      const target = `${sandbox.current.host}:${dir}/${path}`;
      const result = await pushFile(join(dir, 'input'), [...sandbox.sshArgs, target]);
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr.trim().split('\n').at(-1) ?? '', cause);
      assert.deepEqual((await readdir(dir)).sort(), ['input', 'sub']);
      assert.deepEqual(await readdir(join(dir, 'sub')), []);
    }
  });

  it('a file changed while ssh reads it: exit 3, nothing committed, the change named', async () => {
    const { dir, input } = await bigInputAndOldOutput();
    // Wraps the real ssh: before the data session's ssh starts (and long after the local hash
    // read the file), one byte in the middle of the input changes.
    const wrapper = await writeScript(
      dir,
      'changing-ssh',
      'case "$*" in *ControlMaster=no*) sleep 1; printf X | dd of="$INPUT" bs=1 seek=1000 conv=notrunc 2>/dev/null ;; esac\nexec ssh "$@"\n',
    );
    const result = await pushFile(
      input,
      [...sandbox.sshArgs, '--ssh', wrapper, `${sandbox.current.host}:${dir}/out`],
      0,
      { INPUT: input },
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, DIRECT);
    assert.match(result.stderr, /nothing committed \(the input file changed while it was sent\)/);
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('SIGINT while ssh reads the file: exit 130, the old file kept, no temporary file', async () => {
    const { dir, input } = await bigInputAndOldOutput();
    // The data session's ssh never gets going (a stand-in that sleeps): mid-flight for sure.
    // It must be killed, not waited for: --ssh runs the command with exec, so no shell stays
    // in between to swallow the signal (else this hangs until the guard below kills the CLI).
    const wrapper = await writeScript(
      dir,
      'stalled-ssh',
      'case "$*" in *ControlMaster=no*) exec sleep 600 ;; esac\nexec ssh "$@"\n',
    );
    const handle = await open(input, 'r');
    try {
      const target = `${sandbox.current.host}:${dir}/out`;
      const args = ['push', ...sandbox.sshArgs, '--ssh', wrapper, target];
      const run = startCli(args, { SSHSTREAM_DEBUG: '1' }, handle.fd);
      // The temporary file exists before the data session starts: wait for that start too.
      let stderr = '';
      run.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor(async () => DIRECT.test(stderr) && (await leftovers(dir)).length >= 1);
      run.child.kill('SIGINT');
      const guard = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
      const result = await run.done;
      clearTimeout(guard);
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stderr, DIRECT);
      assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
      assert.deepEqual(await leftovers(dir), []);
    } finally {
      await handle.close();
    }
  });

  it('library: pushDirect from an open descriptor; refused with compression', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(1 << 20);
    await writeFile(join(dir, 'input'), data);
    const handle = await open(join(dir, 'input'), 'r');
    try {
      const result = await pushDirect(
        { fd: handle.fd, start: 0 },
        `${sandbox.current.host}:${dir}/out`,
        {
          config: sandbox.current.configPath,
        },
      );
      assert.equal(result.bytes, data.length);
      assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
      assert.throws(
        () =>
          new PushStream(
            `${sandbox.current.host}:${dir}/x`,
            { compress: 'gzip' },
            { direct: { fd: handle.fd, start: 0 } },
          ),
        UsageError,
      );
      // Bytes written to a direct push are refused, and nothing is committed.
      const written = new PushStream(
        `${sandbox.current.host}:${dir}/y`,
        { config: sandbox.current.configPath },
        { direct: { fd: handle.fd, start: 0 } },
      );
      await assert.rejects(pipeline(Readable.from([Buffer.from('stray')]), written), UsageError);
      await assert.rejects(written.result);
      assert.deepEqual((await readdir(dir)).sort(), ['input', 'out']);
    } finally {
      await handle.close();
    }
  });
});
