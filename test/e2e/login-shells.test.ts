// Pushes, pulls and argv exec must behave identically whatever the login shell of the remote
// user is: sshd hands our command string to that shell, and sh, bash, zsh, ksh, fish, tcsh,
// BusyBox ash, mksh, yash and rc (Plan 9's, not POSIX) all quote differently. One sshd; each
// shell has its own account (sshstream-<shell>).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { before, describe, it } from 'node:test';
import { createExecStream, execRemote, pull, push, RemoteCommandError } from '../../lib/index.js';
import { runCli } from '../helpers/cli.js';
import { leftovers, md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { sink } from '../helpers/streams.js';
import { useShellUsers } from '../helpers/shell-users.js';
import { SHELLS, userDir, type TestUser } from '../helpers/users.js';
import { isRoot } from '../helpers/prerequisites.js';

const sandbox = useSandbox();
const users = useShellUsers();

const ssh = () => ({ config: sandbox.current.configPath });

describe('login shells', { concurrency: 3 }, () => {
  for (const shell of SHELLS) {
    describe(`login shell ${shell}`, { concurrency: 1 }, () => {
      let user: TestUser;
      let dir: string;
      let at: string;
      before(async () => {
        if (!isRoot()) return;
        const found = users.all().get(shell);
        if (!found) return;
        user = found;
        dir = await userDir(sandbox.current.scratch, `shell-${shell}`, user);
        at = `${user.name}@${sandbox.current.host}`;
      });
      const ready = (t: Parameters<typeof users.loginAs>[0]): boolean =>
        users.loginAs(t, shell) !== undefined;

      it('runs as that user, under that shell', async (t) => {
        if (!ready(t)) return;
        // getent names the login shell sshd ran our command string with.
        const { stdout } = await execRemote(
          at,
          ['sh', '-c', 'id -un; getent passwd "$(id -un)"'],
          ssh(),
        );
        const [name, entry = ''] = stdout.toString().trim().split('\n');
        assert.equal(name, user.name);
        assert.equal(entry.split(':').at(-1), user.shell);
      });

      it('push lands byte-exact, owned by the user, no temporary file left', async (t) => {
        if (!ready(t)) return;
        const data = randomBytes(200_000);
        const result = await push(Readable.from([data]), `${at}:${dir}/pushed`, ssh());
        assert.equal(result.bytes, data.length);
        assert.equal(result.md5, md5(data));
        const landed = join(dir, 'pushed');
        assert.ok((await readFile(landed)).equals(data));
        assert.equal((await stat(landed)).uid, user.uid);
        assert.deepEqual(await leftovers(dir), []);
      });

      it('pull returns the bytes and a matching hash', async (t) => {
        if (!ready(t)) return;
        const data = randomBytes(150_000);
        await writeFile(join(dir, 'to-pull'), data);
        const out = sink();
        const result = await pull(`${at}:${dir}/to-pull`, out, ssh());
        assert.ok(out.data().equals(data));
        assert.equal(result.md5, md5(data));
      });

      it('push and pull with gzip and sha256; relative paths are relative to the home', async (t) => {
        if (!ready(t)) return;
        const data = Buffer.from('compressible '.repeat(10_000));
        const name = `sshstream-rel-${shell}`;
        const options = { ...ssh(), compress: 'gzip' as const, checksum: 'sha256' as const };
        await push(Readable.from([data]), `${at}:${name}`, options);
        assert.ok((await readFile(join(user.home, name))).equals(data));
        const out = sink();
        const result = await pull(`${at}:${name}`, out, options);
        assert.ok(out.data().equals(data));
        assert.equal(result.algorithm, 'sha256');
      });

      it('argv exec passes every argument literally and carries the exit status', async (t) => {
        if (!ready(t)) return;
        const args = [
          'a b',
          "it's",
          '"q"',
          '$HOME',
          '`id`',
          '$(id)',
          '!!',
          '\\',
          'x\ny',
          '',
          '-n',
          '*',
          '~',
        ];
        const { stdout } = await execRemote(at, ['printf', '%s\\0', ...args], ssh());
        assert.deepEqual(stdout.toString('utf8').split('\0').slice(0, -1), args);
        await assert.rejects(
          execRemote(at, ['sh', '-c', 'echo bad >&2; exit 7'], ssh()),
          (error) => {
            assert.ok(error instanceof RemoteCommandError);
            assert.equal(error.status, 7);
            assert.equal(error.exitCode, 4);
            assert.match(error.message, /exited with status 7: bad$/);
            return true;
          },
        );
      });

      it('the exec stream pipes stdin to stdout', async (t) => {
        if (!ready(t)) return;
        const data = randomBytes(100_000);
        const exec = createExecStream(at, ['cat'], ssh());
        const [out] = await Promise.all([buffer(exec), pipeline(Readable.from([data]), exec)]);
        assert.ok(out.equals(data));
      });

      it('the CLI round-trips through push and pull', async (t) => {
        if (!ready(t)) return;
        const data = randomBytes(10_000);
        const target = `${at}:${dir}/cli`;
        const pushed = await runCli(['push', '-F', sandbox.current.configPath, target], data);
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified\\n$`));
        const pulled = await runCli(['pull', '-q', '-F', sandbox.current.configPath, target]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.equal(pulled.stderr, '');
        assert.ok(pulled.stdout.equals(data));
      });
    });
  }
});
