import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli, type CliRun } from '../helpers/cli.js';
import { exists, leftovers, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
// A port on 127.0.0.1 that nothing listens on: ssh to it fails at once with "Connection
// refused". A privileged one, not a free ephemeral port: over the seconds of the retries another
// process (an sshd started by another test) could take that one.
const CLOSED_PORT = 1;

// Resolves once the run's stderr matches `pattern` (the CLI announces each retry before its
// wait); rejects if the run ends first, so a changed message fails the test instead of hanging it.
function stderrMatches(run: CliRun, pattern: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolve, reject) => {
    run.child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (pattern.test(seen)) resolve();
    });
    run.child.once('close', () => reject(new Error(`ended before ${pattern}: ${seen}`)));
  });
}

describe('signals (real sshd)', () => {
  it('SIGHUP mid-push exits 129, keeps the old file, removes the remote temporary file and the local control directory', async () => {
    const dir = await sandbox.fresh();
    const tmp = join(dir, 'local-tmp');
    await mkdir(tmp);
    const target = join(dir, 'kept');
    await writeFile(target, 'old contents');
    const run = startCli(['push', ...sandbox.sshArgs, `${sandbox.current.host}:${target}`], {
      TMPDIR: tmp,
    });
    run.child.stdin!.write(randomBytes(256 * 1024));
    await waitFor(async () => (await leftovers(dir)).length >= 1);
    assert.equal((await readdir(tmp)).length, 1, 'the control directory is in $TMPDIR');
    run.child.kill('SIGHUP');
    const result = await run.done;
    assert.equal(result.signal, null, 'killed by the signal instead of exiting');
    assert.equal(result.code, 129, result.stderr);
    assert.match(result.stderr, /hangup/);
    assert.equal(await readFile(target, 'utf8'), 'old contents');
    assert.deepEqual(await leftovers(dir), []);
    assert.deepEqual(await readdir(tmp), []);
  });

  it('SIGHUP mid-pull to a file exits 129 and leaves no local temporary file', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'src'), randomBytes(4 * 1024 * 1024));
    const local = join(dir, 'local');
    await mkdir(local);
    const run = startCli([
      'pull',
      ...sandbox.sshArgs,
      '--limit-rate',
      '256K',
      `${sandbox.current.host}:${dir}/src`,
      join(local, 'copy'),
    ]);
    await waitFor(async () => (await leftovers(local)).length >= 1);
    run.child.kill('SIGHUP');
    const result = await run.done;
    assert.equal(result.signal, null, 'killed by the signal instead of exiting');
    assert.equal(result.code, 129, result.stderr);
    assert.deepEqual(await readdir(local), []);
  });

  it('SIGINT while pull --retries waits to retry exits 130, not 2', async () => {
    const dir = await sandbox.fresh();
    const run = startCli([
      'pull',
      ...sandbox.sshArgs,
      '-p',
      String(CLOSED_PORT),
      '--retries',
      '8',
      `${sandbox.current.host}:${dir}/src`,
      join(dir, 'copy'),
    ]);
    // The third wait is 2 s long: the signal lands in it, not in a connection attempt.
    await stderrMatches(run, /retry 3 of 8 in 2s/);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.match(result.stderr, /Connection refused/);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr.trimEnd().split('\n').at(-1)!, /interrupted/);
    assert.equal(await exists(join(dir, 'copy')), false);
  });

  it('SIGTERM while push --retries waits to retry exits 143, not 2', async () => {
    const dir = await sandbox.fresh();
    const input = join(dir, 'input');
    await writeFile(input, 'data to push');
    const fd = openSync(input, 'r');
    let run: CliRun;
    try {
      run = startCli(
        [
          'push',
          ...sandbox.sshArgs,
          '-p',
          String(CLOSED_PORT),
          '--retries',
          '8',
          `${sandbox.current.host}:${dir}/f`,
        ],
        {},
        fd,
      );
    } finally {
      closeSync(fd);
    }
    await stderrMatches(run, /retry 3 of 8 in 2s/);
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.equal(result.code, 143, result.stderr);
    assert.match(result.stderr.trimEnd().split('\n').at(-1)!, /terminated/);
    assert.equal(await exists(join(dir, 'f')), false);
  });
});
