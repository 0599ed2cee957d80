// A new remote file gets 0666 less the remote umask, whatever shell `sh` is on the server: the
// push-control script runs here as sshd would run it, with `sh` on PATH linked to each shell
// (mksh is sh on Android; mksh, ksh and zsh read 0666 in arithmetic as a decimal number).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRemoteCommand, encodePrintfFormat, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { shellPath } from '../helpers/users.js';

const SHELLS = ['dash', 'bash', 'mksh', 'ksh', 'zsh', 'yash', 'busybox'].filter(
  (shell) => shellPath(shell) !== undefined,
);

describe('a new file gets 0666 & ~umask, whatever shell sh is', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-mode-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const shell of SHELLS) {
    it(`sh is ${shell}, umask 027: mode 640`, async () => {
      const bin = join(dir, `bin-${shell}`);
      await mkdir(bin);
      await symlink(shellPath(shell)!, join(bin, 'sh'));
      const target = join(dir, `new-${shell}`);
      const data = Buffer.from('data\n');
      const md5 = createHash('md5').update(data).digest('hex');
      const args = ['T', 'push-control', target, '0', 'md5', '', '', '0', '0'];
      const result = spawnSync('sh', ['-c', `umask 027; ${buildRemoteCommand(args)}`], {
        env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
        input: `${SCRIPT_INPUT}put ${data.length} ${encodePrintfFormat(data)}\ncommit ${data.length} ${md5}\n`,
      });
      assert.match(result.stdout.toString(), /^T committed 5 /m, result.stderr.toString());
      assert.equal((await stat(target)).mode & 0o7777, 0o640);
    });
  }
});
