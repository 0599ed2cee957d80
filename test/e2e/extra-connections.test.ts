// A transfer in ranges opens a connection of its own for each further stream where that logs
// in without asking (lib/ssh/extra-connections.ts): one TCP connection caps a long link however
// many channels ride it. Where a login would need a question (here: a key's passphrase, given
// once through askpass for the first connection), the streams ride the first connection
// instead, and nothing asks twice. Real sshd at LogLevel VERBOSE, which logs every login.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findSshKeygen } from '../../lib/sandbox/binaries.js';
import { settled, startCli, type CliResult } from '../helpers/cli.js';
import { leftovers, waitFor, writeScript, writeSlowSsh } from '../helpers/files.js';
import { descendants, remoteProcesses, remoteSession, sandboxPid } from '../helpers/processes.js';
import { useSandbox } from '../helpers/sandbox.js';

const MiB = 1 << 20;
const LINK_PROXY = fileURLToPath(new URL('../helpers/link-proxy.js', import.meta.url));
const sandbox = useSandbox({ sshdConfig: ['LogLevel VERBOSE'] });
let n = 0;
const fresh = async (): Promise<string> => {
  const dir = join(sandbox.current.scratch, `extra-${n++}`);
  await mkdir(dir);
  return dir;
};

const logins = (): number => (sandbox.current.log().match(/Accepted publickey for /g) ?? []).length;

// Runs the CLI with `input` (a regular file) on stdin and counts the logins it made.
async function run(
  args: string[],
  input = '/dev/null',
  env: NodeJS.ProcessEnv = {},
): Promise<{ result: CliResult; logins: number }> {
  const before = logins();
  const handle = await open(input, 'r');
  const result = await startCli(args, env, handle.fd).done.finally(() => handle.close());
  return { result, logins: logins() - before };
}

// ssh processes still running for a lane's connection, to this file's sandbox.
const laneMasters = (): string[] =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith('ssh ') && /ControlMaster=yes.*\/lane-\d/.test(line))
    // Ours only: each names a config in the sandbox's directory.
    .filter((line) => line.includes(sandbox.current.dir));

// What runs on the remote side for the sandbox: a lane's own session is a `cat`.
const remoteSessions = (): string[] =>
  remoteProcesses(sandbox.current, (argv) => argv[0] !== 'sshd:' && !argv[0]!.includes('sshd')).map(
    (info) => info.argv.join(' '),
  );

// sshd's log (the last 64 KiB of it) from now on: after the line that ends a login refused
// here for a user name of its own.
async function markLog(): Promise<() => string> {
  const user = `mark${randomBytes(4).toString('hex')}`;
  const args = ['-F', sandbox.current.configPath, '-o', 'BatchMode=yes', '-l', user];
  spawnSync('ssh', [...args, sandbox.current.host, 'true']);
  const closed = new RegExp(`^Connection (closed|reset) by invalid user ${user} .*$`, 'm');
  const since = () => {
    const log = sandbox.current.log();
    const line = closed.exec(log);
    return line ? log.slice(line.index + line[0].length + 1) : undefined;
  };
  await waitFor(() => since() !== undefined, 10_000);
  return () => {
    const log = since();
    assert.ok(log !== undefined, 'the mark has left the log');
    return log;
  };
}

describe('streams on connections of their own (real sshd)', () => {
  it('push --streams 4 logs in 4 times, lands byte-exact, and leaves no connection', async () => {
    const dir = await fresh();
    const data = randomBytes(6 * MiB + 5);
    await writeFile(join(dir, 'input'), data);
    const target = `${sandbox.current.host}:${dir}/out`;
    const push = await run(
      ['push', '-F', sandbox.current.configPath, '--streams', '4', target],
      join(dir, 'input'),
    );
    assert.equal(push.result.code, 0, push.result.stderr);
    assert.equal(push.logins, 4);
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    const pull = await run([
      'pull',
      '-F',
      sandbox.current.configPath,
      '--streams',
      '3',
      target,
      join(dir, 'back'),
    ]);
    assert.equal(pull.result.code, 0, pull.result.stderr);
    assert.equal(pull.logins, 3);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
    assert.deepEqual(laneMasters(), []);
    await waitFor(() => remoteSessions().length === 0, 10_000).catch(() => {});
    assert.deepEqual(remoteSessions(), []);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('no more connections than ranges: 5 MiB in 3 ranges with --streams 4 logs in 3 times', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'input'), randomBytes(5 * MiB + 123));
    const target = `${sandbox.current.host}:${dir}/out`;
    const args = ['push', '-F', sandbox.current.configPath, '--streams', '4', target];
    const push = await run(args, join(dir, 'input'));
    assert.equal(push.result.code, 0, push.result.stderr);
    assert.equal(push.logins, 3);
  });

  // A server counts every connection that ends before it has authenticated against the
  // client's address, and OpenSSH 9.8+ (PerSourcePenalties, on by default) then refuses every
  // connection from it for a while, the user's own ssh included: three such runs (16
  // connections cut off) were enough with OpenSSH 10.0. On loopback the first connection carries
  // a small file before the lanes have logged in; those must still finish their logins, and a
  // pull opens only the lanes its file's size calls for.
  it('no connection is cut off before it has logged in (servers penalise that)', async () => {
    const dir = await fresh();
    const data = randomBytes(3 * MiB + 9);
    await writeFile(join(dir, 'input'), data);
    await writeFile(join(dir, 'small'), 'x'.repeat(1024));
    const common = ['-F', sandbox.current.configPath, '--streams', '8'];
    const logSince = await markLog();
    for (let round = 0; round < 2; round++) {
      const target = `${sandbox.current.host}:${dir}/out${round}`;
      const push = await run(['push', ...common, target], join(dir, 'input'));
      assert.equal(push.result.code, 0, push.result.stderr);
      const back = join(dir, `back${round}`);
      const pull = await run(['pull', ...common, target, back]);
      assert.equal(pull.result.code, 0, pull.result.stderr);
      assert.ok((await readFile(back)).equals(data));
      const small = await run(['pull', ...common, `${sandbox.current.host}:${dir}/small`, back]);
      assert.equal(small.result.code, 0, small.result.stderr);
      assert.equal(small.logins, 1);
    }
    const log = logSince();
    const cutOff = log
      .split('\n')
      .filter((line) => /^Connection (closed|reset) by .*\[preauth\]/.test(line));
    assert.deepEqual(cutOff, []);
    assert.ok((log.match(/Accepted publickey for /g) ?? []).length >= 2 * 4, log);
    assert.deepEqual(laneMasters(), []);
  });

  it('--single-connection keeps every stream on one login', async () => {
    const dir = await fresh();
    const data = randomBytes(5 * MiB);
    await writeFile(join(dir, 'input'), data);
    const target = `${sandbox.current.host}:${dir}/out`;
    const common = ['-F', sandbox.current.configPath, '--streams', '4', '--single-connection'];
    const push = await run(['push', ...common, target], join(dir, 'input'));
    assert.equal(push.result.code, 0, push.result.stderr);
    assert.equal(push.logins, 1);
    const pull = await run(['pull', ...common, target, join(dir, 'back')]);
    assert.equal(pull.result.code, 0, pull.result.stderr);
    assert.equal(pull.logins, 1);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
  });

  it('SIGKILL of sshstream: the extra connections end by themselves', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'input'), randomBytes(64 * MiB));
    const handle = await open(join(dir, 'input'), 'r');
    // Ranges (the sessions that ride a master: ControlMaster=no) sent slowly: the push is still
    // running once all its lanes are up (64 MiB on a fast loopback could otherwise end first).
    const ssh = await writeSlowSsh(dir, '*ControlMaster=no*');
    const args = ['push', '-F', sandbox.current.configPath, '--ssh', ssh, '--streams', '4'];
    const run = startCli([...args, `${sandbox.current.host}:${dir}/out`], {}, handle.fd);
    try {
      const lanes = () => remoteSessions().filter((argv) => argv.startsWith('cat')).length;
      // The lanes may log in before the first connection (they start beside it): the push is
      // at work once the control script runs too.
      const control = () => remoteSession(sandbox.current, 'push-control', `${dir}/out`).script;
      await waitFor(
        () => (lanes() === 3 && control() !== undefined) || run.child.exitCode !== null,
      );
      assert.equal(run.child.exitCode, null, 'the push ended before its lanes were up');
      assert.equal(laneMasters().length, 3);
      run.child.kill('SIGKILL');
      await run.done;
    } finally {
      await handle.close();
    }
    // Nothing local is left to stop them: each must notice that its parent is gone. Every
    // connection counts, one still logging in too (its sshd is all there is of it).
    const connections = () => descendants(sandboxPid(sandbox.current));
    const gone = () => laneMasters().length === 0 && connections().length === 0;
    await waitFor(gone, 20_000).catch(() => {});
    assert.deepEqual(laneMasters(), []);
    assert.deepEqual(remoteSessions(), []);
    assert.deepEqual(connections(), []);
  });

  it('a connection that never finishes logging in does not hold up the transfer', async () => {
    const dir = await fresh();
    // The first connection goes through; every lane's own (its ssh names a lane's socket, and
    // may start before the first has logged in) hangs before the server's banner.
    const proxy = await writeScript(
      dir,
      'proxy',
      `case "$(tr '\\0' ' ' < /proc/$PPID/cmdline)" in *ControlPath=*/lane-*) ;; *) exec '${process.execPath}' '${LINK_PROXY}' "$@" ;; esac\nexec '${process.execPath}' -e 'setTimeout(() => {}, 600000)' '${dir}'\n`,
    );
    const config = join(dir, 'ssh_config');
    const text = await readFile(sandbox.current.configPath, 'utf8');
    await writeFile(
      config,
      text.replace(/^Host .*$/m, (host) => `${host}\n  ProxyCommand ${proxy} %h %p`),
    );
    const data = randomBytes(6 * MiB);
    await writeFile(join(dir, 'input'), data);
    const target = `${sandbox.current.host}:${dir}/out`;
    const handle = await open(join(dir, 'input'), 'r');
    // ssh would give up on them after ConnectTimeout (60 s with the default --stall-timeout).
    const run = startCli(['push', '-F', config, '--streams', '3', target], {}, handle.fd);
    const push = await settled(run, undefined, 30_000).finally(() => handle.close());
    assert.equal(push.code, 0, push.stderr);
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    const pullRun = startCli(['pull', '-F', config, '--streams', '3', target, join(dir, 'back')]);
    const pull = await settled(pullRun, undefined, 30_000);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
    assert.deepEqual(laneMasters(), []);
    // ssh, killed while it connects, would leave its ProxyCommand behind (OpenSSH's doing).
    const hanging = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes('setTimeout') && line.includes(dir));
    await waitFor(() => hanging().length === 0, 5000).catch(() => {});
    assert.deepEqual(hanging(), [], 'ProxyCommands left running');
  });

  // An ssh wrapper that logs each invocation's arguments to its log, runs the `case` branches
  // `cases(log)` gives on them, then the real ssh.
  async function sshWrapper(
    dir: string,
    cases: (log: string) => string,
  ): Promise<{ wrapper: string; log: string }> {
    const log = join(dir, 'ssh.log');
    const body = `echo "$*" >> '${log}'\ncase "$*" in ${cases(log)}\nesac\nexec ssh "$@"\n`;
    return { wrapper: await writeScript(dir, 'ssh', body), log };
  }

  // With a count given, the lanes' connections log in beside the first, not one login after
  // it. Runs `pull` or `push` of 6 MiB with --streams 3 through an ssh wrapper that starts the
  // first connection's ssh only once two lanes' have started, or after 10 s ("waited-out" in
  // its log): the file must land on 3 logins, and no wait have run out.
  async function transferHoldingFirst(operation: 'push' | 'pull'): Promise<void> {
    const dir = await fresh();
    const { wrapper, log } = await sshWrapper(
      dir,
      (log) =>
        `*ControlPath=*/lane-*) ;; *ControlMaster=yes*)\n` +
        `  i=0; while [ "$(grep -c 'ControlPath=.*/lane-' '${log}')" -lt 2 ]; do\n` +
        `    i=$((i + 1)); [ "$i" -le 100 ] || { echo waited-out >> '${log}'; break; }; sleep 0.1\n` +
        `  done ;;`,
    );
    const data = randomBytes(6 * MiB + 7);
    await writeFile(join(dir, 'local'), data);
    const remote = `${sandbox.current.host}:${dir}/remote`;
    if (operation === 'pull') await writeFile(join(dir, 'remote'), data);
    const args = [operation, '-F', sandbox.current.configPath, '--ssh', wrapper, '--streams', '3'];
    const landed = join(dir, operation === 'push' ? 'remote' : 'back');
    const transfer =
      operation === 'push'
        ? await run([...args, remote], join(dir, 'local'))
        : await run([...args, remote, landed]);
    assert.equal(transfer.result.code, 0, transfer.result.stderr);
    assert.ok((await readFile(landed)).equals(data));
    assert.equal(transfer.logins, 3);
    assert.doesNotMatch(await readFile(log, 'utf8'), /waited-out/);
    assert.deepEqual(laneMasters(), []);
  }

  // A pull learns the file's size only once connected, so its lanes' connections start when the
  // first has logged in (its socket exists), not beside it: a small file's logins do not race
  // its own. Each lane's ssh logs whether the first connection's socket was there at its start.
  it('pull --streams 3: the lanes connect once the first connection has logged in', async () => {
    const dir = await fresh();
    const { wrapper, log } = await sshWrapper(
      dir,
      (log) =>
        `*ControlMaster=yes*ControlPath=*/lane-*)\n` +
        `  for a do case $a in ControlPath=*) socket=\${a#ControlPath=} ;; esac; done\n` +
        `  if [ -S "\${socket%/*}/control" ]; then echo after-login; else echo early; fi >> '${log}' ;;`,
    );
    const data = randomBytes(6 * MiB + 7);
    await writeFile(join(dir, 'remote'), data);
    const remote = `${sandbox.current.host}:${dir}/remote`;
    const args = ['pull', '-F', sandbox.current.configPath, '--ssh', wrapper, '--streams', '3'];
    const pull = await run([...args, remote, join(dir, 'back')]);
    assert.equal(pull.result.code, 0, pull.result.stderr);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
    const lines = (await readFile(log, 'utf8')).split('\n');
    assert.deepEqual(
      lines.filter((line) => line === 'early' || line === 'after-login'),
      ['after-login', 'after-login'],
    );
    assert.equal(pull.logins, 3);
    assert.deepEqual(laneMasters(), []);
  });

  // A pull opens its lanes' connections once it knows the size, and only those the size calls
  // for: none here, where the source is a FIFO (no size, so one stream), whose pull waits for a
  // writer meanwhile.
  it('pull --streams 3 of a source with no size opens no lane connection', async () => {
    const dir = await fresh();
    const { wrapper, log } = await sshWrapper(dir, () => '');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const args = ['pull', '-F', sandbox.current.configPath, '--ssh', wrapper, '--streams', '3'];
    const pulling = startCli([...args, `${sandbox.current.host}:${fifo}`, join(dir, 'back')]);
    // The remote side opens the FIFO to read it once the pull has begun: from then on a writer
    // may open it without waiting.
    let writer: number | undefined;
    const reading = () => {
      try {
        writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        return true;
      } catch {
        return false;
      }
    };
    let checked = false;
    try {
      await waitFor(reading, 30_000);
      const spawned = (await readFile(log, 'utf8')).split('\n');
      assert.deepEqual(
        spawned.filter((line) => /ControlPath=\S*\/lane-/.test(line)),
        [],
      );
      assert.deepEqual(laneMasters(), []);
      checked = true;
    } finally {
      // A pull left waiting for the FIFO would wait for good.
      if (!checked) pulling.child.kill('SIGTERM');
    }
    const data = randomBytes(4096);
    if (writer !== undefined) {
      writeSync(writer, data);
      closeSync(writer);
    }
    const pull = await settled(pulling);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
  });

  // A pull opens the connections of the lanes its size calls for, not the count given: 2 MiB
  // with --streams 4 travels in 2 ranges, so only lane 1 connects, and carries its range (its
  // session held here until the test has looked). The first connection's
  // range session waits for lane 1's to start: lanes take ranges as they come free, and a
  // first lane done early would take both ranges while lane 1 still logs in.
  it('pull --streams 4 of a file for 2 lanes opens 1 connection more, not 3', async () => {
    const dir = await fresh();
    const go = join(dir, 'go');
    const { wrapper, log } = await sshWrapper(
      dir,
      (log) =>
        `*ControlMaster=yes*) ;;\n` +
        `*ControlPath=*/lane-1\\ *)\n` +
        `  echo holding >> '${log}'; while [ ! -e '${go}' ]; do sleep 0.1; done ;;\n` +
        `*ControlPath=*/control\\ *)\n` +
        `  i=0; until grep -q '^holding$' '${log}' || [ "$i" -gt 300 ]; do\n` +
        `    i=$((i + 1)); sleep 0.1; done ;;`,
    );
    const data = randomBytes(2 * MiB);
    await writeFile(join(dir, 'remote'), data);
    const args = ['pull', '-F', sandbox.current.configPath, '--ssh', wrapper, '--streams', '4'];
    const remote = `${sandbox.current.host}:${dir}/remote`;
    const pulling = startCli([...args, remote, join(dir, 'back')]);
    try {
      const holding = async () => /^holding$/m.test(await readFile(log, 'utf8').catch(() => ''));
      await waitFor(holding, 30_000);
      await waitFor(() => laneMasters().length === 1, 10_000).catch(() => {});
      const open = laneMasters();
      assert.equal(open.length, 1, open.join('\n'));
      assert.match(open[0]!, /\/lane-1 /);
    } finally {
      await writeFile(go, '');
    }
    const pull = await settled(pulling);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
    assert.deepEqual(laneMasters(), []);
  });

  it('push --streams 3: the lanes connect while the first connection still logs in', () =>
    transferHoldingFirst('push'));

  // A lane's connection that fails before the first has logged in (say, on a host key the
  // user is asked to accept there) tries once more after it: here each lane's first try fails.
  it('a lane whose connection fails before the first logs in tries again after it', async () => {
    const dir = await fresh();
    const { wrapper, log } = await sshWrapper(
      dir,
      (log) =>
        `*ControlPath=*/lane-[0-9]\\ *) echo refused >> '${log}'; exit 255 ;;\n` +
        `*ControlPath=*/lane-*) ;; *ControlMaster=yes*)\n` +
        `  i=0; while [ "$(grep -c '^refused' '${log}')" -lt 2 ] && [ "$i" -le 100 ]; do\n` +
        `    i=$((i + 1)); sleep 0.1; done ;;`,
    );
    const data = randomBytes(6 * MiB + 7);
    await writeFile(join(dir, 'input'), data);
    const target = `${sandbox.current.host}:${dir}/out`;
    const args = ['push', '-F', sandbox.current.configPath, '--ssh', wrapper, '--streams', '3'];
    const push = await run([...args, target], join(dir, 'input'));
    assert.equal(push.result.code, 0, push.result.stderr);
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    const lines = (await readFile(log, 'utf8')).split('\n');
    assert.equal(lines.filter((line) => line === 'refused').length, 2);
    const again = /ControlMaster=yes -o ControlPath=\S*\/lane-\d-again /;
    assert.equal(lines.filter((line) => again.test(line)).length, 2);
    assert.equal(push.logins, 3);
    assert.deepEqual(laneMasters(), []);
  });

  it('a key that needs its passphrase: asked once, the streams ride the first connection', async () => {
    const dir = await fresh();
    const key = join(dir, 'key');
    await copyFile(sandbox.current.identityPath, key);
    execFileSync(findSshKeygen(), ['-q', '-p', '-P', '', '-N', 'open sesame', '-f', key]);
    const config = join(dir, 'ssh_config');
    const text = await readFile(sandbox.current.configPath, 'utf8');
    // The sandbox's config says BatchMode yes: the first connection here may ask.
    const asking = text.replace(/IdentityFile \S+/g, `IdentityFile ${key}`);
    await writeFile(config, asking.replace(/BatchMode yes/g, 'BatchMode no'));
    const asked = join(dir, 'asked');
    const askpass = await writeScript(dir, 'askpass', `echo x >> '${asked}'\necho 'open sesame'\n`);
    const env = { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '' };
    const data = randomBytes(5 * MiB + 1);
    await writeFile(join(dir, 'input'), data);
    const target = `${sandbox.current.host}:${dir}/out`;
    const push = await run(
      ['push', '-F', config, '--streams', '4', target],
      join(dir, 'input'),
      env,
    );
    assert.equal(push.result.code, 0, push.result.stderr);
    assert.equal((await readFile(asked, 'utf8')).split('\n').length - 1, 1, 'passphrase asked');
    assert.equal(push.logins, 1);
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    assert.deepEqual(laneMasters(), []);
  });
});
