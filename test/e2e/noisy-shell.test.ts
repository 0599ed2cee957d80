// Login shells whose startup files print on stdout and stderr for every command (rsync's "is
// your shell clean?") must not corrupt data, reports or results. The noise includes lines that
// look like our reports, with and without a trailing newline.
//
// Covered: bash (~/.bashrc, which Debian's bash reads for commands run by sshd), zsh
// (~/.zshenv), fish (~/.config/fish/config.fish) and tcsh (~/.tcshrc). Not covered: sh/dash and
// ksh read no startup file at all for `sh -c` (ENV is for interactive shells only), so sshd's
// commands run clean under them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { execRemote, pull, push } from '../../lib/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { leftovers, md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { sink } from '../helpers/streams.js';
import { ensureUser, shellPath, userDir, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly, skipOrFail } from '../helpers/prerequisites.js';

const sandbox = useSandbox();
const ssh = () => ({ config: sandbox.current.configPath });

const STARTUP_FILES = {
  bash: '.bashrc',
  zsh: '.zshenv',
  fish: '.config/fish/config.fish',
  tcsh: '.tcshrc',
} as const;

// A fake tag: our tags are random per transfer, so these must be taken as noise.
const FAKE = 'SSHSTREAM-0000000000000000';
const NOISE = {
  'ending in a newline': {
    stdout: `noise on stdout\n${FAKE} ready\n${FAKE} 0\n${FAKE} committed 0 x\n`,
    stderr: `noise on stderr\n${FAKE} err io 41\n${FAKE} sum 0 x\n`,
  },
  'without a trailing newline': {
    stdout: `partial noise ${FAKE} ready`,
    stderr: `partial noise ${FAKE} err io 41`,
  },
} as const;

// Every startup file runs the same sh script, so each shell's syntax only needs `sh ~/noise.sh`.
const noiseScript = (noise: { stdout: string; stderr: string }): string =>
  `printf '%s' '${noise.stdout}'\nprintf '%s' '${noise.stderr}' >&2\n`;

describe('noisy login shells', { concurrency: 4 }, () => {
  for (const [shell, startup] of Object.entries(STARTUP_FILES)) {
    describe(shell, { concurrency: 1 }, () => {
      let user: TestUser | undefined;
      let dir: string;
      let at: string;
      before(async () => {
        if (!isRoot() || shellPath(shell) === undefined) return;
        user = await ensureUser(`sshstream-noisy-${shell}`, shell);
        dir = await userDir(sandbox.current.scratch, `noisy-${shell}`, user);
        at = `${user.name}@${sandbox.current.host}`;
        const file = join(user.home, startup);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, 'sh ~/noise.sh\n');
        await chown(dirname(file), user.uid, user.gid);
      });

      for (const [variant, noise] of Object.entries(NOISE)) {
        describe(`noise ${variant}`, { concurrency: 1 }, () => {
          const skip = (t: { skip: (message: string) => void }): boolean => {
            if (!rootOnly(t)) return true;
            if (!user) skipOrFail(t, `${shell} is not installed`);
            return !user;
          };
          before(async () => {
            if (user) await writeFile(join(user.home, 'noise.sh'), noiseScript(noise));
          });

          it('the startup file really is noisy', async (t) => {
            if (skip(t)) return;
            const { stdout, stderr } = await execRemote(at, 'true', ssh());
            assert.equal(stdout.toString(), noise.stdout);
            assert.equal(stderr.toString(), noise.stderr);
          });

          it('push lands the exact bytes and a verified result', async (t) => {
            if (skip(t)) return;
            const data = randomBytes(300_000);
            const result = await push(Readable.from([data]), `${at}:${dir}/pushed`, ssh());
            assert.equal(result.bytes, data.length);
            assert.equal(result.md5, md5(data));
            assert.ok((await readFile(join(dir, 'pushed'))).equals(data));
            assert.deepEqual(await leftovers(dir), []);
          });

          it('pull returns the exact bytes (gzip too), with a verified result', async (t) => {
            if (skip(t)) return;
            const data = randomBytes(200_000);
            await writeFile(join(dir, 'to-pull'), data);
            for (const compress of [undefined, 'gzip'] as const) {
              const out = sink();
              const result = await pull(`${at}:${dir}/to-pull`, out, { ...ssh(), compress });
              assert.ok(out.data().equals(data), `compress ${compress}`);
              assert.equal(result.md5, md5(data));
            }
          });

          // ssh writes a big pull into the local file itself where the login shell is quiet;
          // here its noise would start the file (or each range), so node takes the data from
          // after the header.
          it('a big pull into a local file lands the exact bytes, in ranges too', async (t) => {
            if (skip(t)) return;
            const data = randomBytes(9 * 1024 * 1024 + 3);
            await writeFile(join(dir, 'big'), data);
            const back = join(dir, 'big-back');
            for (const streams of [[], ['--streams', '3']]) {
              const args = ['pull', '-q', ...streams, '-F', sandbox.current.configPath];
              const pulled = await runCli([...args, `${at}:${dir}/big`, back]);
              assert.equal(pulled.code, 0, pulled.stderr);
              assert.ok((await readFile(back)).equals(data), streams.join(' '));
            }
            // `> FILE`: stdout a file, which ssh would write itself.
            const fd = openSync(back, 'w');
            const args = ['pull', '-q', '-F', sandbox.current.configPath, `${at}:${dir}/big`];
            const cli = startCli(args, {}, undefined, fd);
            cli.child.stdin!.end();
            const redirected = await cli.done.finally(() => closeSync(fd));
            assert.equal(redirected.code, 0, redirected.stderr);
            assert.ok((await readFile(back)).equals(data), '> FILE');
            assert.deepEqual(await leftovers(dir), []);
          });

          it('a remote error is ours, not the noise (exit 4, one line)', async (t) => {
            if (skip(t)) return;
            const target = `${at}:${dir}/missing/f`;
            const result = await runCli(['push', '-F', sandbox.current.configPath, target], 'x');
            assert.equal(result.code, 4);
            assert.equal(
              result.stderr,
              `sshstream: push ${target}: no such directory (use --mkdir to create it)\n`,
            );
          });

          it('the CLI pull writes only the data to stdout, and --json only the result', async (t) => {
            if (skip(t)) return;
            const data = randomBytes(5000);
            await writeFile(join(dir, 'cli'), data);
            const target = `${at}:${dir}/cli`;
            const pulled = await runCli(['pull', '-q', '-F', sandbox.current.configPath, target]);
            assert.equal(pulled.code, 0, pulled.stderr);
            assert.equal(pulled.stderr, '');
            assert.ok(pulled.stdout.equals(data));
            const pushed = await runCli(
              ['push', '--json', '-q', '-F', sandbox.current.configPath, target],
              data,
            );
            assert.equal(pushed.code, 0, pushed.stderr);
            assert.equal(pushed.stderr, '');
            const json = JSON.parse(pushed.stdout.toString()) as { md5: string; bytes: number };
            assert.equal(json.md5, md5(data));
            assert.equal(json.bytes, data.length);
          });

          // An argv command's output starts after a tagged line, like pull's data.
          it('argv exec output is only the command output', async (t) => {
            if (skip(t)) return;
            const { stdout } = await execRemote(at, ['printf', 'data'], ssh());
            assert.equal(stdout.toString(), 'data');
          });
        });
      }
    });
  }
});
