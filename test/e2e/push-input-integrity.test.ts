// An input that ends early must not replace a good file with its prefix. A regular file on
// stdin that shrinks while it is sent fails with exit 3; a producer run by sshstream itself
// (`push HOST:PATH -- COMMAND ARGS...`) commits only if it exits 0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { settled, startCli } from '../helpers/cli.js';
import { leftovers, md5, waitFor, writeScript } from '../helpers/files.js';
import { useShSandbox } from '../helpers/sandbox.js';

const sandbox = useShSandbox();
// A fresh directory holding an `out` that a failed push must leave as it is.
const withOriginal = async (): Promise<string> => {
  const dir = await sandbox.fresh();
  await writeFile(join(dir, 'out'), 'original');
  return dir;
};

// Resolves once the remote temporary file of a push into `dir` holds data.
const dataArrived = (dir: string) =>
  waitFor(async () => {
    const sizes = await Promise.all(
      (await leftovers(dir)).map((name) =>
        stat(join(dir, name)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.some((size) => size > 0);
  }, 30_000);

describe('push of an input that ends early (real sshd)', () => {
  it('a file under the direct size that shrinks during the push: exit 3, nothing committed', async () => {
    const dir = await withOriginal();
    const input = join(dir, 'input');
    await writeFile(input, randomBytes(32 << 20));
    // Wraps the real ssh: as the data session starts (the push under way, most of the file not
    // yet read), the input is cut to 4 MiB, as a log rotation or a crashed writer would.
    const wrapper = await writeScript(
      dir,
      'shrinking-ssh',
      'case "$*" in *ControlMaster=no*) truncate -s 4M "$INPUT" ;; esac\nexec ssh "$@"\n',
    );
    const handle = await open(input, 'r');
    try {
      const target = `${sandbox.current.host}:${dir}/out`;
      const args = ['push', ...sandbox.sshArgs, '--ssh', wrapper, target];
      const result = await settled(startCli(args, { INPUT: input }, handle.fd));
      assert.equal((await stat(input)).size, 4 << 20, 'the input was cut during the push');
      assert.equal(result.code, 3, result.stderr);
      assert.match(
        result.stderr,
        /: \d+ bytes read, \d+ expected; nothing committed \(the input file changed while it was sent\)\n$/,
      );
      assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
      assert.deepEqual(await leftovers(dir), []);
    } finally {
      await handle.close();
    }
  });

  // The producer writes `data`, then waits for its exit status on its stdin (sshstream's stdin,
  // which it inherits): the test decides when and how it ends, once the data is under way.
  async function pushFromProducer(dir: string, data: Buffer, status: number) {
    await writeFile(join(dir, 'data'), data);
    const run = startCli([
      'push',
      ...sandbox.sshArgs,
      `${sandbox.current.host}:${dir}/out`,
      '--',
      'sh',
      '-c',
      'cat "$1" && read status && exit "$status"',
      'producer',
      join(dir, 'data'),
    ]);
    await dataArrived(dir);
    run.child.stdin!.end(`${status}\n`);
    return settled(run);
  }

  it('-- COMMAND that exits 1 mid-stream: exit 5, the old file kept, no temporary file', async () => {
    const dir = await withOriginal();
    const result = await pushFromProducer(dir, randomBytes(1 << 20), 1);
    assert.equal(result.code, 5, result.stderr);
    assert.match(
      result.stderr,
      /^sshstream: push .*out: the input command "sh -c .*" exited with status 1; nothing committed\n$/,
    );
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('-- COMMAND that exits 0: its whole output is committed, verified', async () => {
    const dir = await withOriginal();
    const data = randomBytes(1 << 20);
    const result = await pushFromProducer(dir, data, 0);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`md5 ${md5(data)} verified`));
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    assert.deepEqual((await readdir(dir)).sort(), ['data', 'out']);
  });

  it('"--" before the target only ends the options; a second "--" starts the command', async () => {
    const dir = await withOriginal();
    const run = startCli([
      'push',
      ...sandbox.sshArgs,
      '--',
      `${sandbox.current.host}:${dir}/out`,
      '--',
      'printf',
      'made',
    ]);
    run.child.stdin!.end();
    const result = await settled(run);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'made');
  });
});
