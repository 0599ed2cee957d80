// Small inputs go inline on the control session (lib/push/options.ts INLINE_LIMIT): one ssh session
// instead of two. These tests prove the bytes still land exactly, that the inline path is the
// one taken (by counting the ssh sessions a logging wrapper sees), and that it is verified.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { INLINE_LIMIT } from '../../lib/push/options.js';
import { runCli } from '../helpers/cli.js';
import { leftovers, md5, writeScript } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

// Every byte value, NUL and newline included, repeated up to `size` bytes.
const allBytes = (size: number): Buffer =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + (i >> 8)) % 256));

// A wrapper around the real ssh that logs each invocation's arguments, one line per run.
async function loggingSsh(
  dir: string,
): Promise<{ wrapper: string; sessions: () => Promise<number> }> {
  const log = join(dir, 'ssh.log');
  const wrapper = await writeScript(dir, 'logging-ssh', `echo "$*" >> '${log}'\nexec ssh "$@"\n`);
  const sessions = async () =>
    (await readFile(log, 'utf8')).split('\n').filter((line) => /ControlMaster=/.test(line)).length;
  return { wrapper, sessions };
}

describe('small pushes go inline on the control session (real sshd)', () => {
  for (const [size, sessions] of [
    [1, 1],
    [300, 1],
    [INLINE_LIMIT, 1],
    [INLINE_LIMIT + 1, 2],
  ] as const) {
    it(`${size} bytes of every byte value land byte-identical over ${sessions} session(s)`, async () => {
      const dir = await sandbox.fresh();
      const { wrapper, sessions: count } = await loggingSsh(dir);
      const data = allBytes(size);
      const target = `${sandbox.current.host}:${dir}/f`;
      const result = await runCli(['push', ...sandbox.sshArgs, '--ssh', wrapper, target], data);
      assert.equal(result.code, 0, result.stderr);
      const landed = await readFile(join(dir, 'f'));
      assert.equal(md5(landed), md5(data));
      assert.equal(landed.length, size);
      assert.equal(await count(), sessions);
      assert.deepEqual(await leftovers(dir), []);
    });
  }

  it('bytes corrupted on the way inline exit 3 and commit nothing', async () => {
    const dir = await sandbox.fresh();
    const target = join(dir, 'precious');
    await writeFile(target, 'original');
    // Rewrites the octal code of 'a' (141) into 'b' (142) on the control session's put line
    // only, so the commit line (count and digest) arrives intact.
    const wrapper = await writeScript(
      dir,
      'corrupting-ssh',
      `case "$*" in *ControlMaster=yes*) sed -u '/^put /s/141/142/g' | ssh "$@" ;; *) exec ssh "$@" ;; esac\n`,
    );
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '--ssh', wrapper, `${sandbox.current.host}:${target}`],
      'banana',
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /verification failed: sent 6 bytes md5 \w+, remote has 6 bytes/);
    assert.equal(await readFile(target, 'utf8'), 'original');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('checksum none and sha256 work inline too', async () => {
    const dir = await sandbox.fresh();
    for (const checksum of ['none', 'sha256']) {
      const data = allBytes(1000);
      const result = await runCli(
        [
          'push',
          ...sandbox.sshArgs,
          '--checksum',
          checksum,
          `${sandbox.current.host}:${dir}/${checksum}`,
        ],
        data,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(join(dir, checksum))), md5(data));
    }
    assert.deepEqual((await readdir(dir)).sort(), ['none', 'sha256']);
  });
});
