// SIGKILL during a direct push (ssh reads the big input file itself): nothing local can clean
// up, so the remote side must stop the upload. The remote writer is slowed (a throttled `cat`
// first on the session's PATH), so the push is surely under way when the kill comes, and an
// upload left running would go on for long after it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli, type CliRun } from '../helpers/cli.js';
import { leftovers, waitFor } from '../helpers/files.js';
import { descendants, remoteSession } from '../helpers/processes.js';
import { sessionPath, useShSandbox, useToolDir } from '../helpers/sandbox.js';
import { userDir } from '../helpers/users.js';

const BIG = 64 << 20; // the CLI's threshold for a direct push

// `cat` (stdin to stdout, the file) at about 3 MiB/s: the 64 MiB input takes some 20 s to
// arrive. One process (node runs it in place of the exec'd cat), so stopping it stops the
// writer. With FILE arguments (the script's other cats) it is a plain, quick cat.
const bin = useToolDir(
  'sshstream-slow-cat-',
  'cat',
  `#!${process.execPath}
const fs = require('node:fs');
const files = process.argv.slice(2).filter((arg) => arg !== '--');
if (files.length > 0) {
  for (const file of files) fs.writeSync(1, fs.readFileSync(file));
  process.exit(0);
}
const buffer = Buffer.alloc(64 * 1024);
(function step() {
  const n = fs.readSync(0, buffer, 0, buffer.length, null);
  if (n === 0) return;
  fs.writeSync(1, buffer, 0, n);
  setTimeout(step, 20);
})();
`,
);

const sandbox = useShSandbox({ sshdConfig: [sessionPath(bin)] });
const cfg = () => ['-F', sandbox.current.configPath];
let n = 0;

// A process still running (a zombie has ended; it only waits for its parent to reap it).
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

// The remote processes of a push's data session into `path` (the slowed cat among them).
const dataSession = (path: string) => {
  const { script, children } = remoteSession(sandbox.current, 'push-data', path);
  return script ? [script, ...children].filter((p) => running(p.pid)) : [];
};

// Starts a direct push of a big file into `dir/out` (an old `out` there) and resolves once the
// remote temporary file holds data and the slowed cat writes it.
async function directPushUnderway(): Promise<{
  dir: string;
  run: CliRun;
  close: () => Promise<void>;
}> {
  const dir = await userDir(sandbox.current.scratch, `sigkill-${n++}`, sandbox.user);
  await writeFile(join(dir, 'input'), randomBytes(BIG));
  await writeFile(join(dir, 'out'), 'original');
  const handle = await open(join(dir, 'input'), 'r');
  const args = ['push', ...cfg(), `${sandbox.current.host}:${dir}/out`];
  const run = startCli(args, { SSHSTREAM_DEBUG: '1' }, handle.fd);
  const guard = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  void run.done.then(() => clearTimeout(guard));
  await waitFor(async () => {
    const temps = (await leftovers(dir)).filter((name) => name.endsWith('.tmp'));
    const sizes = await Promise.all(
      temps.map((name) =>
        stat(join(dir, name)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.some((size) => size > 0);
  }, 30_000).catch(async () => {
    run.child.kill('SIGKILL');
    assert.fail(`the push did not get under way: ${(await run.done).stderr}`);
  });
  const writer = dataSession(`${dir}/out`).find(
    (p) => p.argv[1] === join(bin, 'cat') && p.argv.length === 2,
  );
  assert.ok(writer, 'the slowed cat writes the data');
  return { dir, run, close: () => handle.close() };
}

describe('SIGKILL during a direct push (real sshd)', () => {
  it('of sshstream: its ssh processes and the remote writer stop within seconds', async () => {
    const { dir, run, close } = await directPushUnderway();
    try {
      const ssh = descendants(run.child.pid!).filter((p) => p.argv[0] === 'ssh');
      assert.ok(
        ssh.some((p) => p.argv.includes('ControlMaster=no')),
        'the data session runs: ' + JSON.stringify(ssh.map((p) => p.argv)),
      );
      run.child.kill('SIGKILL');
      const result = await run.done;
      assert.equal(result.signal, 'SIGKILL');
      assert.match(result.stderr, /push: ssh reads the input file itself/);
      // Left running, the upload would take some 20 s more.
      await waitFor(() => ssh.every((p) => !running(p.pid)), 10_000).catch(() => {
        const left = ssh.filter((p) => running(p.pid)).map((p) => p.argv.join(' '));
        assert.fail(`ssh still running after the kill: ${left.join('; ')}`);
      });
      await waitFor(() => dataSession(`${dir}/out`).length === 0, 3000);
      assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
      assert.deepEqual(await leftovers(dir), []);
    } finally {
      await close();
    }
  });

  it('of the remote control script: sshstream fails, no temporary file stays', async () => {
    const { dir, run, close } = await directPushUnderway();
    try {
      const { script } = remoteSession(sandbox.current, 'push-control', `${dir}/out`);
      assert.ok(script, 'the control script runs');
      process.kill(script.pid, 'SIGKILL');
      const result = await run.done;
      assert.ok([2, 4].includes(result.code!), result.stderr);
      await waitFor(() => dataSession(`${dir}/out`).length === 0, 8000);
      assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
      await waitFor(async () => (await leftovers(dir)).length === 0, 3000).catch(async () =>
        assert.fail(`left: ${(await leftovers(dir)).join(', ')}`),
      );
    } finally {
      await close();
    }
  });
});
