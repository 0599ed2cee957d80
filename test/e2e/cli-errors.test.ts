import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
// A namespace import, so this file still loads where errorReport does not exist.
import * as cli from '../../lib/cli/error-report.js';
import { ConnectionError, exitCodeOf } from '../../lib/util/errors.js';
import { runCli, startCli } from '../helpers/cli.js';
import { exists, leftovers, writeScript } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
const lines = (stderr: string): string[] => stderr.split('\n').filter((line) => line !== '');

describe('CLI errors: codes and messages (real sshd)', () => {
  it('push with a directory on stdin exits 5, keeps the old file and creates no new one', async () => {
    const dir = await sandbox.fresh();
    const kept = join(dir, 'kept');
    await writeFile(kept, 'old contents');
    const fd = openSync(dir, 'r');
    try {
      for (const target of [kept, join(dir, 'new')]) {
        const run = startCli(
          ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${target}`],
          {},
          fd,
        );
        const result = await run.done;
        assert.equal(result.code, 5, result.stderr);
        assert.equal(lines(result.stderr).length, 1, result.stderr);
        assert.match(result.stderr, /cannot read input: .*directory/);
      }
    } finally {
      closeSync(fd);
    }
    assert.equal(await readFile(kept, 'utf8'), 'old contents');
    assert.equal(await exists(join(dir, 'new')), false);
    assert.deepEqual(await leftovers(dir), []);
  });

  for (const operation of ['push', 'pull'] as const) {
    it(`${operation} -z --compress-level 12 exits 1 with one line, before ssh runs`, async () => {
      const dir = await sandbox.fresh();
      const ran = join(dir, 'ssh-ran');
      // Passes through to the real ssh, leaving a mark: it must never run.
      const wrapper = await writeScript(dir, 'marking-ssh', `: > '${ran}'\nexec ssh "$@"\n`);
      await writeFile(join(dir, 'src'), 'remote data');
      const where = `${sandbox.current.host}:${dir}/${operation === 'push' ? 'dst' : 'src'}`;
      const result = await runCli(
        [operation, ...sandbox.sshArgs, '--ssh', wrapper, '-z', '--compress-level', '12', where],
        'local data\n'.repeat(10_000), // above the inline limit: the gzip path, not inline
      );
      assert.equal(result.code, 1, result.stderr);
      assert.equal(lines(result.stderr).length, 1, result.stderr);
      assert.match(result.stderr, /--compress-level for gzip must be .* 1 to 9, not 12/);
      assert.equal(result.stdout.length, 0);
      assert.equal(await exists(ran), false, 'ssh was started');
      assert.equal(await exists(join(dir, 'dst')), false);
    });
  }

  for (const [how, args, env] of [
    ['--ssh naming a missing command', ['--ssh', '/no/such/ssh'], {}],
    ['SSHSTREAM_SSH naming a missing command', [], { SSHSTREAM_SSH: '/no/such/ssh' }],
  ] as const) {
    for (const operation of ['push', 'pull'] as const) {
      it(`${operation} with ${how} exits 2 and names the command`, async () => {
        const dir = await sandbox.fresh();
        await writeFile(join(dir, 'src'), 'remote data');
        const where = `${sandbox.current.host}:${dir}/${operation === 'push' ? 'dst' : 'src'}`;
        const result = await runCli(
          [operation, ...sandbox.sshArgs, ...args, where],
          'local data',
          env,
        );
        assert.equal(result.code, 2, result.stderr);
        assert.equal(lines(result.stderr).length, 1, result.stderr);
        assert.match(result.stderr, /\/no\/such\/ssh.*not found/);
        assert.equal(await exists(join(dir, 'dst')), false);
      });
    }
  }

  it('no ssh on PATH: exit 2, the line says ssh was not found', async () => {
    const dir = await sandbox.fresh();
    const empty = join(dir, 'empty-bin');
    await mkdir(empty);
    const result = await runCli(
      ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${dir}/dst`],
      'x',
      {
        PATH: empty,
      },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, /"ssh" not found/);
    assert.equal(await exists(join(dir, 'dst')), false);
  });
});

describe('internal errors are not reported as local I/O', () => {
  it('a programming error maps to exit 70; a failed system call to 5; ours keep their code', () => {
    assert.equal(
      exitCodeOf(new TypeError("Cannot read properties of undefined (reading 'x')")),
      70,
    );
    assert.equal(exitCodeOf(new RangeError('Invalid array length')), 70);
    assert.equal(exitCodeOf(new Error('something unexpected')), 70);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
    assert.equal(exitCodeOf(enospc), 5);
    assert.equal(exitCodeOf(new ConnectionError('Connection refused')), 2);
  });

  it('the report says it is a bug in one line, with the stack only under SSHSTREAM_DEBUG', () => {
    const bug = new TypeError('x is not a function');
    const plain = cli.errorReport(bug);
    assert.equal(lines(plain).length, 1, plain);
    assert.match(plain, /^sshstream: internal error .*x is not a function.*SSHSTREAM_DEBUG=1/);
    const debug = cli.errorReport(bug, true);
    assert.match(debug, /x is not a function/);
    assert.ok(debug.includes(bug.stack!), debug);
    const disk = cli.errorReport(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    assert.doesNotMatch(disk, /internal error/);
  });

  it('help into a reader that stops at once (`sshstream --help | head -1`): exit 0, no stack', async () => {
    for (const args of [['--help'], ['push', '--help'], ['--version']]) {
      const run = startCli(args);
      // The reading end closes before the CLI has even started: its write meets EPIPE.
      run.child.stdout!.destroy();
      const result = await run.done;
      assert.equal(result.stderr, '', args.join(' '));
      assert.equal(result.code, 0, args.join(' '));
    }
  });

  it('the CLI help documents exit 70 and SSHSTREAM_DEBUG', async () => {
    const result = await runCli(['push', '--help']);
    assert.match(result.stdout.toString('utf8'), /^ {2}70 +internal error/m);
    assert.match(result.stdout.toString('utf8'), /SSHSTREAM_DEBUG/);
  });
});
