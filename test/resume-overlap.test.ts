import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../lib/sandbox.js';
import { startCli, type CliResult } from './helpers/cli.js';
import { md5 } from './helpers/files.js';
import { ensureUser, isRoot } from './helpers/users.js';

// A login user with a plain sh: overlapping sessions start many logins at once.
let sandbox: Sandbox;
before(async () => {
  const user = isRoot() ? (await ensureUser('sshstream-sh', 'sh')).name : undefined;
  sandbox = await startSandbox(user ? { user } : {});
});
after(async () => {
  await sandbox?.stop();
});
const cfg = () => ['-F', sandbox.configPath];
let n = 0;
const fresh = async (): Promise<string> => {
  const dir = join(sandbox.scratch, `overlap-${n++}`);
  await mkdir(dir);
  await chmod(dir, 0o777); // the login user writes here
  return dir;
};

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
  it('concurrent --resume pushes to one path: the file is exactly one input that reported success', async () => {
    const dir = await fresh();
    // Different inputs with the same first MiB, and a partial file of it: each push may continue it.
    const head = randomBytes(1024 * 1024);
    const inputs = Array.from({ length: 8 }, () =>
      Buffer.concat([head, randomBytes(3 * 1024 * 1024)]),
    );
    await Promise.all(inputs.map((data, i) => writeFile(join(dir, `input-${i}`), data)));
    await writeFile(join(dir, '.out.sshstream-partial'), head, { mode: 0o666 });
    await chmod(join(dir, '.out.sshstream-partial'), 0o666);
    const target = `${sandbox.host}:${dir}/out`;
    const results = await Promise.all(
      inputs.map((_, i) =>
        pushFile(
          ['push', ...cfg(), '--resume', '--limit-rate', '4M', target],
          join(dir, `input-${i}`),
        ),
      ),
    );
    const succeeded = results.flatMap((result, i) => (result.code === 0 ? [i] : []));
    assert.ok(succeeded.length > 0, results.map((result) => result.stderr).join(''));
    const landed = md5(await readFile(join(dir, 'out')));
    assert.ok(
      succeeded.some((i) => md5(inputs[i]!) === landed),
      `out (${landed}) is none of the inputs whose push succeeded (${succeeded.join(', ')})`,
    );
  });

  it('two --resume pulls into one FILE at once: FILE ends equal to the remote file', async () => {
    const dir = await fresh();
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, 'remote'), data);
    const local = join(dir, 'local');
    // Both find the same good partial file: only one may continue it.
    await writeFile(join(dir, '.local.sshstream-partial'), data.subarray(0, 1024 * 1024));
    const pull = () =>
      startCli([
        'pull',
        ...cfg(),
        '--resume',
        '--limit-rate',
        '4M',
        `${sandbox.host}:${dir}/remote`,
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
