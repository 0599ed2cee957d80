// SIGKILL of the remote control script while no data session runs: an inline push (the input
// travels on the control session), or any push during its final fsync. No trap runs on SIGKILL;
// the temporary file and its .sum must still go. With OpenSSH, a `sync` first on the session's
// PATH holds the commit's fsync of the temporary file (when a marker is in its directory) until
// the control script is dead, so the kill surely lands in the commit.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeArgument } from '../../lib/remote/script.js';
import { findExecutable } from '../../transforms/which.js';
import { startCli, type CliRun } from '../helpers/cli.js';
import { ensureBusyboxUser, findBusybox } from '../helpers/busybox.js';
import { exists, leftovers, waitFor, writeScript } from '../helpers/files.js';
import { descendants, remoteSession } from '../helpers/processes.js';
import { sessionPath, useSandbox, useShSandbox, useToolDir } from '../helpers/sandbox.js';
import { skipUnlessRoot } from '../helpers/prerequisites.js';

const MARKER = 'hold-fsync';
const HELD = 'fsync-held';

// Holds `sync -- DIR/.NAME.sshstream-TAG.tmp` from a control script (not the data session's
// periodic one) while the pid in the file's .owner lives.
const bin = useToolDir(
  'sshstream-holding-sync-',
  'sync',
  `#!/bin/sh
dir=\${2%/*}
if [ "$1" = -- ] && [ -f "$dir/${MARKER}" ] && [ -f "$2.owner" ] &&
  tr '\\0' ' ' < /proc/$PPID/cmdline | grep -q ' ${encodeArgument('push-control')} '; then
  owner=$(cat "$2.owner")
  touch "$dir/${HELD}"
  while kill -0 "$owner" 2>/dev/null; do sleep 0.05; done
  exit 0
fi
exec ${findExecutable('sync') ?? '/bin/sync'} "$@"
`,
);

const sandbox = useShSandbox({ sshdConfig: [sessionPath(bin)] });

// Starts a push of `size` random bytes into `dir/out`: stdin a pipe, or with `--resume` a
// local file (resume reads its input again).
async function startPush(dir: string, size: number, args: string[]): Promise<CliRun> {
  const data = randomBytes(size);
  const target = `${sandbox.current.host}:${dir}/out`;
  const command = ['push', ...sandbox.sshArgs, ...args, target];
  if (!args.includes('--resume')) {
    const run = startCli(command);
    run.child.stdin!.end(data);
    return run;
  }
  const input = join(sandbox.current.dir, `input-${basename(dir)}`);
  await writeFile(input, data);
  const handle = await open(input, 'r');
  const run = startCli(command, {}, handle.fd);
  void run.done.finally(() => handle.close());
  return run;
}

describe('SIGKILL of the remote control script outside the data phase (real sshd)', () => {
  const cases = [
    { what: 'an inline push (1 KiB)', size: 1024, args: [], left: [] },
    { what: 'a 3 MiB push, in its last fsync', size: 3 << 20, args: [], left: [] },
    // A resumable push keeps its data for the next run, under the shared name it looks for.
    {
      what: 'a 3 MiB --resume push, in its last fsync',
      size: 3 << 20,
      args: ['--resume'],
      left: ['.out.sshstream-partial'],
    },
  ];
  for (const { what, size, args, left } of cases) {
    it(`${what}: it fails, the destination is untouched, no temporary file stays`, async () => {
      const dir = await sandbox.fresh();
      await writeFile(join(dir, 'out'), 'original');
      await writeFile(join(dir, MARKER), '');
      const run = await startPush(dir, size, args);
      const guard = setTimeout(() => run.child.kill('SIGKILL'), 180_000);
      try {
        // Generous: on a loaded machine a login alone can take many seconds.
        await waitFor(() => exists(join(dir, HELD)), 120_000);
        const { script } = remoteSession(sandbox.current, 'push-control', `${dir}/out`);
        assert.ok(script, 'the control script runs');
        const temps = await leftovers(dir);
        assert.ok(
          temps.some((name) => /\.sshstream-SSHSTREAM-[0-9a-f]+\.(tmp|partial)$/.test(name)),
          `a temporary file: ${temps.join(', ')}`,
        );
        process.kill(script.pid, 'SIGKILL');
        const result = await run.done;
        assert.notEqual(result.code, 0, result.stderr);
        assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
        const sorted = async () => (await leftovers(dir)).sort();
        await waitFor(async () => (await sorted()).join() === left.join(), 15_000).catch(async () =>
          assert.fail(`left: ${(await sorted()).join(', ')}`),
        );
      } finally {
        clearTimeout(guard);
      }
    });
  }
});

// Dropbear with a BusyBox login (OpenWrt's applets only), where no PATH can be set for the
// session: an ssh wrapper holds the control session's input instead. It passes the remote
// script on, then holds the next line (sshstream sends it once the control script is ready, so
// the guardian runs) and marks that it holds it.
describe(
  'SIGKILL of the remote control script: Dropbear, BusyBox login',
  { skip: skipUnlessRoot(findBusybox() !== undefined, 'needs root and busybox') },
  () => {
    const dropbear = useSandbox({ server: 'dropbear', user: 'sshstream-busybox' });
    it('an inline push, its input held back: no temporary file stays', async () => {
      const busybox = await ensureBusyboxUser();
      const dir = await dropbear.fresh(busybox);
      await writeFile(join(dir, 'out'), 'original');
      const ssh = await writeScript(
        dropbear.current.dir,
        'holding-ssh',
        `case "$*" in
  *ControlMaster=yes*)
    perl -e '$| = 1; while (<STDIN>) { print; last if $_ eq "\\n" } <STDIN>;
      open(my $f, ">", "${join(dir, HELD)}"); close($f); sleep 600' | exec ssh "$@" ;;
  *) exec ssh "$@" ;;
esac
`,
      );
      const target = `${dropbear.current.host}:${dir}/out`;
      const run = startCli(['push', ...dropbear.sshArgs, '--ssh', ssh, target]);
      run.child.stdin!.end('a small input');
      try {
        await waitFor(() => exists(join(dir, HELD)), 120_000);
        const { script } = remoteSession(dropbear.current, 'push-control', `${dir}/out`);
        assert.ok(script, 'the control script runs');
        assert.ok((await leftovers(dir)).some((name) => name.endsWith('.tmp')));
        process.kill(script.pid, 'SIGKILL');
        // The connection is still up (held): the remote side cleans up by itself.
        await waitFor(async () => (await leftovers(dir)).length === 0, 15_000).catch(async () =>
          assert.fail(`left: ${(await leftovers(dir)).join(', ')}`),
        );
        assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
      } finally {
        for (const child of descendants(run.child.pid!)) process.kill(child.pid, 'SIGKILL');
        run.child.kill('SIGKILL');
        await run.done;
      }
    });
  },
);
