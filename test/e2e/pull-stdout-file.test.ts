// `sshstream pull h:f > FILE`: stdout is a regular file, so ssh writes a big pull there itself,
// as into a FILE argument (stdout-file.ts), and node only hashes what landed. Against the real
// sshd: the bytes land exact where the shell's redirection puts them (`>`, `>>`), --json and
// anything after follows them, a file written over from its start (`1<>`) and a small file go
// through node, and a full disk is a local error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { shownLines, startCli, type CliResult } from '../helpers/cli.js';
import { md5 } from '../helpers/files.js';
import { rootOnly, skipOrFail } from '../helpers/prerequisites.js';
import { useSandbox } from '../helpers/sandbox.js';

const run = promisify(execFile);
const sandbox = useSandbox();
const MiB = 1 << 20;
// The debug line of a range that ssh wrote into the file.
const WROTE = /ssh wrote (\d+) bytes into the file/g;

// The bytes ssh wrote, from the debug lines.
const wrote = (stderr: string): number[] =>
  [...stderr.matchAll(WROTE)].map((match) => Number(match[1]));

// Runs `sshstream pull ARGS SOURCE` with stdout the file `out` opened with `flags` ('w' is
// `> out`, 'a' is `>> out`, 'r+' is `1<> out`).
async function pullInto(out: string, flags: string, args: string[]): Promise<CliResult> {
  const fd = openSync(out, flags);
  const nothing = openSync('/dev/null', 'r');
  try {
    const env = { SSHSTREAM_DEBUG: '1' };
    return await startCli(['pull', ...sandbox.sshArgs, ...args], env, nothing, fd).done;
  } finally {
    closeSync(fd);
    closeSync(nothing);
  }
}

// A remote file of `data` in a fresh directory: its source argument.
async function remote(data: Buffer): Promise<string> {
  const dir = await sandbox.fresh();
  await writeFile(join(dir, 'source'), data);
  return `${sandbox.current.host}:${dir}/source`;
}

describe('pull to stdout redirected to a file (real sshd)', () => {
  it('> FILE: 40 MiB + 5 bytes land exact, written by ssh, and --json follows them', async () => {
    const data = randomBytes(40 * MiB + 5);
    const out = join(await sandbox.fresh(), 'out');
    const result = await pullInto(out, 'w', ['--json', await remote(data)]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(wrote(result.stderr), [data.length], 'ssh wrote the file');
    const landed = await readFile(out);
    assert.ok(landed.subarray(0, data.length).equals(data));
    const json = JSON.parse(landed.subarray(data.length).toString()) as { md5: string };
    assert.equal(json.md5, md5(data));
  });

  it('>> FILE: the pull lands after what the file held', async () => {
    const data = randomBytes(9 * MiB + 1);
    const out = join(await sandbox.fresh(), 'log');
    await writeFile(out, 'kept\n');
    const result = await pullInto(out, 'a', ['-q', await remote(data)]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(wrote(result.stderr), [data.length], 'ssh wrote the file');
    assert.ok((await readFile(out)).equals(Buffer.concat([Buffer.from('kept\n'), data])));
  });

  it('1<> FILE: a file written over from its start gets the bytes there, the rest kept', async () => {
    const data = randomBytes(6 * MiB + 7);
    const before = randomBytes(8 * MiB);
    const out = join(await sandbox.fresh(), 'over');
    await writeFile(out, before);
    const result = await pullInto(out, 'r+', ['-q', await remote(data)]);
    assert.equal(result.code, 0, result.stderr);
    const expected = Buffer.concat([data, before.subarray(data.length)]);
    assert.ok((await readFile(out)).equals(expected));
  });

  for (const size of [0, 1, 3 * MiB + 1]) {
    it(`a file of ${size} bytes (below 4 MiB: through node) lands exact`, async () => {
      const data = randomBytes(size);
      const out = join(await sandbox.fresh(), 'small');
      const result = await pullInto(out, 'w', ['-q', await remote(data)]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok((await readFile(out)).equals(data));
    });
  }

  it('a local disk that fills up is exit 5 naming it', async (t) => {
    if (!rootOnly(t)) return;
    const source = await remote(randomBytes(40 * MiB));
    const local = await sandbox.fresh();
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', local]).then(
      () => true,
      (error: Error) => skipOrFail(t, `cannot mount a tmpfs here: ${error.message}`),
    );
    if (mounted !== true) return;
    try {
      const result = await pullInto(join(local, 'out'), 'w', [source]);
      assert.equal(result.code, 5, result.stderr);
      assert.ok(wrote(result.stderr).length > 0, 'ssh wrote the file');
      assert.deepEqual(shownLines(result.stderr), [
        `sshstream: pull ${source}: cannot write output: ENOSPC: no space left on device, write`,
        '',
      ]);
    } finally {
      await run('umount', [local]);
    }
  });
});
