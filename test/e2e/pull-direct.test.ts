// A regular file pulled into a local file in ranges, or in one stream from 4 MiB on, is written
// by ssh itself: each session's stdout is the temporary file, at the range's offset
// (range-direct.ts), and no byte passes through node. Against the real sshd: the bytes land
// exact; a local disk that fills up is a local error (ssh says nothing when its stdout fails).
// The stall, resume and MaxSessions cases are in stall.test.ts and range-sessions-limit.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { runCli, shownLines } from '../helpers/cli.js';
import { leftovers, md5 } from '../helpers/files.js';
import { rootOnly, skipOrFail } from '../helpers/prerequisites.js';
import { useSandbox } from '../helpers/sandbox.js';

const run = promisify(execFile);
const sandbox = useSandbox();
const MiB = 1 << 20;
const DEBUG = { SSHSTREAM_DEBUG: '1' };
// The debug line of a range that ssh wrote into the file.
const WROTE = /ssh wrote (\d+) bytes into the file/;

// The ranges ssh wrote, from the debug lines: how many bytes each.
const wrote = (stderr: string): number[] =>
  [...stderr.matchAll(new RegExp(WROTE, 'g'))].map((match) => Number(match[1]));

describe('pull into a file, written by ssh itself (real sshd)', () => {
  for (const [name, streams, ranges] of [
    ['one stream', [], 1],
    ['4 ranges side by side', ['--streams', '4'], 4],
  ] as const) {
    it(`${name}: 40 MiB + 5 bytes land exact, with the verified result`, async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(40 * MiB + 5);
      await writeFile(join(dir, 'source'), data);
      const out = join(dir, 'back');
      const source = `${sandbox.current.host}:${dir}/source`;
      const args = ['pull', '--json', ...streams, ...sandbox.sshArgs, source, out];
      const result = await runCli(args, '', DEBUG);
      assert.equal(result.code, 0, result.stderr);
      const landed = wrote(result.stderr);
      assert.equal(landed.length, ranges, 'ssh wrote every range');
      assert.equal(
        landed.reduce((sum, bytes) => sum + bytes, 0),
        data.length,
      );
      const json = JSON.parse(result.stdout.toString()) as { bytes: number; md5: string };
      assert.equal(json.bytes, data.length);
      assert.equal(json.md5, md5(data));
      assert.ok((await readFile(out)).equals(data));
      assert.deepEqual(await leftovers(dir), []);
    });

    it(`${name}: a local disk that fills up is exit 5 naming it, the old file kept`, async (t) => {
      if (!rootOnly(t)) return;
      const dir = await sandbox.fresh();
      const local = await sandbox.fresh();
      await writeFile(join(dir, 'source'), randomBytes(40 * MiB));
      const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', local]).then(
        () => true,
        (error: Error) => skipOrFail(t, `cannot mount a tmpfs here: ${error.message}`),
      );
      if (mounted !== true) return;
      try {
        const out = join(local, 'precious');
        await writeFile(out, 'precious\n');
        const source = `${sandbox.current.host}:${dir}/source`;
        const args = ['pull', ...streams, ...sandbox.sshArgs, source, out];
        const result = await runCli(args, '', DEBUG);
        assert.equal(result.code, 5, result.stderr);
        assert.ok(wrote(result.stderr).length > 0, 'ssh wrote the file');
        assert.deepEqual(shownLines(result.stderr), [
          `sshstream: pull ${source}: cannot write output: ENOSPC: no space left on device, write`,
          '',
        ]);
        assert.equal(await readFile(out, 'utf8'), 'precious\n');
        assert.deepEqual(await leftovers(local), []);
      } finally {
        await run('umount', [local]);
      }
    });
  }
});
