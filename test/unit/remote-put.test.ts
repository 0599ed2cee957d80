// A small push's bytes travel as one `put` line of printf octal escapes, written by the shell's
// own printf (no process to start): every byte value must land exactly whatever shell `sh` is on
// the server. The push-control script runs here as sshd would run it, with `sh` on PATH linked
// to each shell.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRemoteCommand, encodePrintfFormat, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { shellPath } from '../helpers/users.js';

const SHELLS = ['dash', 'bash', 'mksh', 'ksh', 'zsh', 'yash', 'busybox'].filter(
  (shell) => shellPath(shell) !== undefined,
);

// Every byte value (NUL, newline, backslash, % and 0xff among them), then a second round.
const DATA = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7 + (i >> 8)) % 256));

describe('a put line lands every byte value, whatever shell sh is', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-put-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const shell of SHELLS) {
    it(`sh is ${shell}`, async () => {
      const bin = join(dir, `bin-${shell}`);
      await mkdir(bin);
      await symlink(shellPath(shell)!, join(bin, 'sh'));
      const target = join(dir, `put-${shell}`);
      const md5 = createHash('md5').update(DATA).digest('hex');
      const args = ['T', 'push-control', target, '0', 'md5', '', '', '0', '0'];
      // Two puts: the second appends.
      const half = DATA.length / 2;
      const result = spawnSync('sh', ['-c', buildRemoteCommand(args)], {
        env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
        input:
          `${SCRIPT_INPUT}put ${half} ${encodePrintfFormat(DATA.subarray(0, half))}\n` +
          `put ${DATA.length} ${encodePrintfFormat(DATA.subarray(half))}\n` +
          `commit ${DATA.length} ${md5}\n`,
      });
      assert.match(result.stdout.toString(), /^T committed 512 /m, result.stderr.toString());
      assert.deepEqual(await readFile(target), DATA);
    });
  }
});
