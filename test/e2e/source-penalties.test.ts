// OpenSSH 9.8 and later count against the client's address every connection that ends before
// it has logged in (1 s each) and every failed login (5 s), and from 15 s of them on refuse
// every connection from it for a while (PerSourcePenalties, on by default): the user's own
// ssh as well. A transfer in ranges opens connections of its own; repeated transfers must not
// get the user locked out. Against a real sshd of 9.8 or later (the system's, or Debian's
// backport that .ci/run unpacks).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startCli, type CliResult } from '../helpers/cli.js';
import { writeScript } from '../helpers/files.js';
import { findNewerSshd } from '../helpers/newer-sshd.js';
import { skipUnless } from '../helpers/prerequisites.js';
import { useSandbox } from '../helpers/sandbox.js';

const MiB = 1 << 20;
const DELAY_PROXY = fileURLToPath(new URL('../../bench/delay-proxy.js', import.meta.url));
const LINK_PROXY = fileURLToPath(new URL('../helpers/link-proxy.js', import.meta.url));
const newer = findNewerSshd();
const sandbox = useSandbox({
  ...(newer ? { sshd: newer.sshd } : {}),
  // The defaults of OpenSSH 10.0, spelled out: what the test holds to does not move with them.
  sshdConfig: [
    ...(newer?.config ?? []),
    ...(newer ? ['PerSourcePenalties noauth:1s authfail:5s min:15s'] : []),
    'LogLevel VERBOSE',
  ],
});

// Runs the CLI with `input` (a regular file, or none) on stdin.
async function run(args: string[], input = '/dev/null'): Promise<CliResult> {
  const handle = await open(input, 'r');
  return startCli(args, {}, handle.fd).done.finally(() => handle.close());
}

describe(
  'repeated transfers in ranges against OpenSSH 9.8+ (PerSourcePenalties)',
  { skip: skipUnless(newer !== undefined, 'no OpenSSH server of 9.8 or later') },
  () => {
    // Before, three rounds of this got 127.0.0.1 refused: each small pull with --streams 8 cut
    // off 7 connections while they logged in, and each push or pull of 3 MiB those of its
    // lanes the first connection had not needed.
    it('small files with --streams 8, four times over: ssh still gets in', async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(3 * MiB + 1);
      await writeFile(join(dir, 'input'), data);
      await writeFile(join(dir, 'small'), 'x'.repeat(1024));
      const common = ['-F', sandbox.current.configPath, '--streams', '8'];
      const host = sandbox.current.host;
      for (let round = 0; round < 4; round++) {
        const small = await run(['pull', ...common, `${host}:${dir}/small`, join(dir, 'back')]);
        assert.equal(small.code, 0, `round ${round}: ${small.stderr}`);
        const push = await run(['push', ...common, `${host}:${dir}/out`], join(dir, 'input'));
        assert.equal(push.code, 0, `round ${round}: ${push.stderr}`);
        const pull = await run(['pull', ...common, `${host}:${dir}/out`, join(dir, 'back')]);
        assert.equal(pull.code, 0, `round ${round}: ${pull.stderr}`);
        assert.ok((await readFile(join(dir, 'back'))).equals(data));
      }
      const ssh = spawnSync('ssh', [...sandbox.current.sshArgs, host, 'true'], {
        encoding: 'utf8',
      });
      assert.equal(ssh.status, 0, ssh.stderr);
      // A penalty is logged when it starts (the harness's own check that sshd is up, a
      // connection that reads the banner and goes, is one second of it) and when it blocks.
      const blocked = sandbox.current
        .log()
        .split('\n')
        .filter((line) => /activating .*penalty|drop connection/.test(line));
      assert.deepEqual(blocked, [], newer?.version);
    });

    // Before, a push that failed before its control script was ready (here: no such
    // directory) killed its lanes' ssh at once, mid-login where they log in slower than the
    // first connection (here: through a 100 ms delay): sshd counts each as a connection that
    // ended before authenticating. Now they end once their logins have settled.
    it('pushes with --streams 4 that fail before they start cut off no login', async () => {
      const dir = await sandbox.fresh();
      await writeFile(join(dir, 'input'), randomBytes(3 * MiB));
      const delayed = `exec '${process.execPath}' '${DELAY_PROXY}' --delay 100 "$@"`;
      const proxy = await writeScript(
        dir,
        'proxy',
        `case "$(tr '\\0' ' ' < /proc/$PPID/cmdline)" in *ControlPath=*/lane-*) ${delayed} ;; esac\n` +
          `exec '${process.execPath}' '${LINK_PROXY}' "$@"\n`,
      );
      const config = join(dir, 'ssh_config');
      const text = await readFile(sandbox.current.configPath, 'utf8');
      await writeFile(
        config,
        text.replace(/^Host .*$/m, (host) => `${host}\n  ProxyCommand ${proxy} %h %p`),
      );
      // The log from here on (log() keeps its last 64 KiB: the mark may have gone, and with it
      // everything before).
      const mark = sandbox.current.log().slice(-200);
      for (let round = 0; round < 3; round++) {
        const target = `${sandbox.current.host}:${dir}/missing/out`;
        const push = await run(
          ['push', '-F', config, '--streams', '4', target],
          join(dir, 'input'),
        );
        assert.equal(push.code, 4, push.stderr);
        assert.match(push.stderr, /no such directory/);
      }
      // What sshd logs for a connection that ended before it logged in.
      const cutOff = sandbox.current
        .log()
        .split(mark)
        .at(-1)!
        .split('\n')
        .filter((line) => /^Connection (closed|reset) by .*\[preauth\]/.test(line));
      assert.deepEqual(cutOff, [], newer?.version);
    });
  },
);
