// A pull into a local FILE commits as the remote side does: data fsynced, renamed, and the
// rename itself made durable by an fsync of the directory; the file's mode follows `cat >`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { assertFlushedBeforeLast, runCliTraced } from '../helpers/traced-cli.js';

const sandbox = useSandbox();

const COMMIT_CALLS = ['-e', 'trace=openat,rename,renameat,renameat2,fsync'];

// Runs the CLI under umask `mask`, traced into `trace` when given.
const run = (args: string[], mask: string, trace?: string, calls = COMMIT_CALLS) =>
  runCliTraced(args, mask, trace === undefined ? undefined : { file: trace, calls });

// Whether, in an strace log, `dir` is opened and fsynced after the rename onto `path`.
function directorySyncedAfterRename(log: string, path: string, dir: string): boolean {
  const lines = log.split('\n');
  const renamed = lines.findIndex(
    (line) => /rename/.test(line) && line.includes(`"${path}"`) && / = 0$/.test(line),
  );
  if (renamed < 0) return false;
  const later = lines.slice(renamed + 1);
  const opened = later
    .map((line) => new RegExp(`openat\\(AT_FDCWD, "${dir}", [^)]*\\) = (\\d+)$`).exec(line)?.[1])
    .filter((fd) => fd !== undefined);
  return opened.some((fd) =>
    later.some((line) => new RegExp(`fsync\\(${fd}\\)\\s+= 0$`).test(line)),
  );
}

describe('pull into a local FILE: the commit', () => {
  let dir = '';
  let remote = '';
  const data = randomBytes(256 * 1024);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-commit-'));
    remote = join(sandbox.current.scratch, `commit-${randomBytes(4).toString('hex')}`);
    await writeFile(remote, data);
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const source = () => `${sandbox.current.host}:${remote}`;
  const cfg = () => [...sandbox.sshArgs, '-q'];

  for (const resume of [false, true]) {
    const flags = resume ? ['--resume'] : [];
    it(`${resume ? 'pull --resume' : 'pull'} FILE fsyncs the directory after the rename`, async () => {
      const local = join(dir, `synced${resume ? '-resume' : ''}`);
      const trace = join(dir, `trace${resume ? '-resume' : ''}`);
      const result = await run(['pull', ...cfg(), ...flags, source(), local], '022', trace);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(local)), md5(data));
      const log = await readFile(trace, 'utf8');
      assert.ok(
        directorySyncedAfterRename(log, local, dir),
        `no fsync of ${dir} after the rename:\n${log
          .split('\n')
          .filter((l) => l.includes(dir) || /fsync|rename/.test(l))
          .join('\n')}`,
      );
    });

    // A pull in ranges hashes the file once every range has landed: meanwhile its bytes go to
    // the disk (1 GiB: the hash's 1.8 s, then the fsync's 0.8 s, in turn before). strace -y
    // names the file behind each descriptor: its first fsync comes before its last read.
    it(`${resume ? 'pull --resume' : 'pull'} --streams 2 FILE flushes the file while it hashes it`, async () => {
      const ranged = join(sandbox.current.scratch, `ranged-${resume ? 'resume' : 'plain'}`);
      const big = randomBytes(8 << 20);
      await writeFile(ranged, big);
      const local = join(dir, `ranged${resume ? '-resume' : ''}`);
      const trace = join(dir, `trace-ranged${resume ? '-resume' : ''}`);
      const args = ['pull', ...cfg(), ...flags, '--streams', '2'];
      const calls = ['-y', '-e', 'trace=fsync,read,pread64'];
      const result = await run(
        [...args, `${sandbox.current.host}:${ranged}`, local],
        '022',
        trace,
        calls,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(local)), md5(big));
      const temporary = /\/\.ranged[^/]*\.(tmp|partial)$/;
      assertFlushedBeforeLast(await readFile(trace, 'utf8'), temporary, 'p?read(?:64)?');
    });

    it(`${resume ? 'pull --resume' : 'pull'}: a new FILE gets 0666 less the umask, an existing one keeps its mode`, async () => {
      const fresh = join(dir, `fresh${resume ? '-resume' : ''}`);
      const result = await run(['pull', ...cfg(), ...flags, source(), fresh], '027');
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await stat(fresh)).mode & 0o777, 0o640);
      // A world-writable file stays so: its mode is the user's choice, not the umask's.
      const shared = join(dir, `shared${resume ? '-resume' : ''}`);
      await writeFile(shared, 'old');
      await chmod(shared, 0o666);
      const again = await run(['pull', ...cfg(), ...flags, source(), shared], '022');
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await stat(shared)).mode & 0o777, 0o666);
      assert.equal(md5(await readFile(shared)), md5(data));
    });
  }
});
