// `pull --compress zstd` on a machine without zstd: one line naming the missing tool, exit 5
// (a local problem), no stack trace, and nothing connects first.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalIOError, createPullStream } from '../../lib/index.js';
import { findExecutable } from '../../transforms/which.js';
import { runCli } from '../helpers/cli.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

describe('pull --compress zstd without a local zstd', () => {
  let bin: string;
  let dir: string;
  before(async () => {
    // A PATH holding ssh and nothing else.
    bin = await mkdtemp(join(tmpdir(), 'sshstream-nopath-'));
    await symlink(findExecutable('ssh')!, join(bin, 'ssh'));
    dir = join(sandbox.current.scratch, 'pull-local-zstd');
    await mkdir(dir);
    await writeFile(join(dir, 'src'), 'some data\n');
  });
  after(() => rm(bin, { recursive: true, force: true }));

  for (const local of [[], ['copy']]) {
    it(`exits 5 with one line naming zstd (to ${local.length ? 'a file' : 'stdout'})`, async () => {
      const result = await runCli(
        [
          'pull',
          '-F',
          sandbox.current.configPath,
          '--compress',
          'zstd',
          `${sandbox.current.host}:${dir}/src`,
          ...local.map((name) => join(dir, name)),
        ],
        '',
        { PATH: bin },
      );
      assert.equal(result.code, 5, result.stderr);
      assert.equal(
        result.stderr,
        `sshstream: pull ${sandbox.current.host}:${dir}/src: zstd not found locally: install zstd (it must be on PATH)\n`,
      );
      assert.equal(result.stdout.length, 0);
      assert.deepEqual(await readdir(dir), ['src']);
    });
  }

  it('createPullStream throws a LocalIOError at once', () => {
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
      assert.throws(
        () => createPullStream(`${sandbox.current.host}:${dir}/src`, { compress: 'zstd' }),
        (error: unknown) => error instanceof LocalIOError && error.exitCode === 5,
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});
