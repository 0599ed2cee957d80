import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli, type CliResult } from '../helpers/cli.js';
import { landedSize, md5, waitFor } from '../helpers/files.js';
import { useShSandbox } from '../helpers/sandbox.js';

// A login user with a plain sh: overlapping sessions start many logins at once.
const sandbox = useShSandbox();

// Runs the CLI with a local file as stdin (resume needs a re-readable input).
async function pushFile(args: string[], input: string): Promise<CliResult> {
  const handle = await open(input, 'r');
  try {
    return await startCli(args, {}, handle.fd).done;
  } finally {
    await handle.close();
  }
}

describe('overlapping --resume transfers (real sshd)', () => {
  it('a --resume push paused mid-way while another takes over: the file is exactly the one that succeeded', async () => {
    const dir = await sandbox.fresh();
    // Inputs alike for their first 3 MiB: the second push may resume what the first has sent.
    const shared = randomBytes(3 * 1024 * 1024);
    const inputs = [0, 1].map(() => Buffer.concat([shared, randomBytes(1024 * 1024)]));
    await Promise.all(inputs.map((data, i) => writeFile(join(dir, `input-${i}`), data)));
    const target = `${sandbox.current.host}:${dir}/out`;
    const handle = await open(join(dir, 'input-0'), 'r');
    try {
      const first = startCli(
        ['push', ...sandbox.sshArgs, '--resume', '--limit-rate', '1M', target],
        {},
        handle.fd,
      );
      // The first push has sent over a MiB: stop it (as a stale session would go quiet).
      await waitFor(async () => (await landedSize(dir, 'out')) > 1024 * 1024);
      first.child.kill('SIGSTOP');
      const second = await pushFile(
        ['push', ...sandbox.sshArgs, '--resume', target],
        join(dir, 'input-1'),
      );
      first.child.kill('SIGCONT');
      const firstResult = await first.done;
      const results = [firstResult, second];
      const succeeded = results.flatMap((result, i) => (result.code === 0 ? [i] : []));
      assert.ok(succeeded.length > 0, results.map((result) => result.stderr).join(''));
      const landed = md5(await readFile(join(dir, 'out')));
      assert.ok(
        succeeded.some((i) => md5(inputs[i]!) === landed),
        `out (${landed}) is none of the inputs whose push succeeded (${succeeded.join(', ')})`,
      );
    } finally {
      await handle.close();
    }
  });

  it('two --resume pulls into one FILE at once: FILE ends equal to the remote file', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, 'remote'), data);
    const local = join(dir, 'local');
    // Both find the same good partial file: only one may continue it.
    await writeFile(join(dir, '.local.sshstream-partial'), data.subarray(0, 1024 * 1024));
    const pull = () =>
      startCli([
        'pull',
        ...sandbox.sshArgs,
        '--resume',
        '--limit-rate',
        '4M',
        `${sandbox.current.host}:${dir}/remote`,
        local,
      ]).done;
    const results = await Promise.all([pull(), pull()]);
    assert.ok(
      results.some((result) => result.code === 0),
      results.map((result) => result.stderr).join(''),
    );
    assert.equal(md5(await readFile(local)), md5(data));
  });
});
