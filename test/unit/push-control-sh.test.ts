// The push-control script, run here as sshd would run it with `sh` on PATH linked to each shell
// that can be a server's /bin/sh (mksh is sh on Android): what it does must not depend on which.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRemoteCommand, encodePrintfFormat, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { shellPath } from '../helpers/users.js';

const SHELLS = ['dash', 'bash', 'mksh', 'ksh', 'zsh', 'yash', 'busybox'].filter(
  (shell) => shellPath(shell) !== undefined,
);

// Every byte value (NUL, newline, backslash, % and 0xff among them), then a second round.
const ALL_BYTES = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7 + (i >> 8)) % 256));

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

describe('push-control, whatever shell sh is', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-sh-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // Runs push-control for `target` under `shell` as sh, after `prefix` (shell commands), with
  // the script and then `lines` on stdin; returns its stdout and stderr.
  async function pushControl(shell: string, target: string, lines: string, prefix = '') {
    const bin = join(dir, `bin-${shell}-${target.replace(/\W/g, '')}`);
    await mkdir(bin);
    await symlink(shellPath(shell)!, join(bin, 'sh'));
    const args = ['T', 'push-control', target, '0', 'md5', '', '', '0', '0'];
    const result = spawnSync('sh', ['-c', `${prefix}${buildRemoteCommand(args)}`], {
      env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
      input: `${SCRIPT_INPUT}${lines}`,
    });
    return { stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  }

  // A new remote file gets 0666 less the remote umask (mksh, ksh and zsh read 0666 in
  // arithmetic as a decimal number).
  for (const shell of SHELLS) {
    it(`sh is ${shell}, umask 027: a new file gets mode 640`, async () => {
      const target = join(dir, `new-${shell}`);
      const data = Buffer.from('data\n');
      const put = `put ${data.length} ${encodePrintfFormat(data)}\ncommit 5 ${md5(data)}\n`;
      const result = await pushControl(shell, target, put, 'umask 027; ');
      assert.match(result.stdout, /^T committed 5 /m, result.stderr);
      assert.equal((await stat(target)).mode & 0o7777, 0o640);
    });
  }

  // A small push's bytes travel as `put` lines of printf octal escapes, written by the shell's
  // own printf (no process to start): every byte value must land exactly. Two puts: the
  // second appends.
  for (const shell of SHELLS) {
    it(`sh is ${shell}: put lines land every byte value`, async () => {
      const target = join(dir, `put-${shell}`);
      const half = ALL_BYTES.length / 2;
      const result = await pushControl(
        shell,
        target,
        `put ${half} ${encodePrintfFormat(ALL_BYTES.subarray(0, half))}\n` +
          `put ${ALL_BYTES.length} ${encodePrintfFormat(ALL_BYTES.subarray(half))}\n` +
          `commit ${ALL_BYTES.length} ${md5(ALL_BYTES)}\n`,
      );
      assert.match(result.stdout, /^T committed 512 /m, result.stderr);
      assert.deepEqual(await readFile(target), ALL_BYTES);
    });
  }
});
