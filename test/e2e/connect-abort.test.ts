import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { AbortError, createPushStream, push } from '../../lib/index.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { startCli as startCliRun, type CliRun } from '../helpers/cli.js';
import { leftovers, waitFor } from '../helpers/files.js';
import { descendants, remoteProcesses, type ProcessInfo } from '../helpers/processes.js';
import { startSilentServer, type SilentServer } from '../helpers/silent-server.js';
import { freshDir } from '../helpers/sandbox.js';
import { ensureUser } from '../helpers/users.js';
import { isRoot } from '../helpers/prerequisites.js';

// Each login to this sshd waits in authentication while its AuthorizedKeysCommand sleeps, and
// then succeeds (the command accepts the offered key): an abort that is not honoured until
// then commits the file.
const AUTH_SLEEP = '45';
const LOGIN_USER = 'sshstream-sh';

// One hook, in order: the login user, the sandbox, the silent server and a config naming both.
let sandbox: { current: Sandbox };
let silent: SilentServer;
let configDir: string;
let configPath: string;
before(async () => {
  if (isRoot()) await ensureUser(LOGIN_USER, 'sh');
  sandbox = {
    current: await startSandbox({
      ...(isRoot() ? { user: LOGIN_USER } : {}),
      sshdConfig: [
        'AuthorizedKeysFile none',
        `AuthorizedKeysCommand /bin/sh -c "sleep ${AUTH_SLEEP}; echo %t %k"`,
        `AuthorizedKeysCommandUser ${isRoot() ? 'nobody' : userInfo().username}`,
      ],
    }),
  };
  silent = await startSilentServer();
  // Host `silent` is the listener that never answers; the sandbox aliases come from its config.
  configDir = await mkdtemp(join(tmpdir(), 'sshstream-connect-abort-'));
  configPath = join(configDir, 'ssh_config');
  await writeFile(
    configPath,
    [
      `Include ${sandbox.current.configPath}`,
      'Host silent',
      '  HostName 127.0.0.1',
      `  Port ${silent.port}`,
      '  BatchMode yes',
      '  StrictHostKeyChecking no',
      `  UserKnownHostsFile ${join(configDir, 'known_hosts')}`,
      '',
    ].join('\n'),
  );
});
after(async () => {
  await silent?.close();
  await sandbox?.current.stop();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

// A test that fails must not leave its CLI waiting for input that never ends.
const runs: CliRun[] = [];
const startCli = (args: readonly string[]): CliRun => {
  const run = startCliRun(args);
  runs.push(run);
  return run;
};
after(() => {
  for (const { child } of runs)
    if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
});
// Generous: a machine under load can take many seconds to start node and ssh.
const slow = { timeout: 120000 };

const cfg = () => ['-F', configPath];
// No stall timeout, hence no ConnectTimeout: ssh alone would wait for the silent server forever.
const NO_TIMEOUT = ['--stall-timeout', '0'];

// The ssh processes under `root` (this test's CLI, or this test process itself).
const sshUnder = (root: number): ProcessInfo[] =>
  descendants(root).filter((info) => info.argv[0] === 'ssh');

// Which of `processes` still run (the same pid with the same argv: not a reused pid).
function stillRunning(processes: ProcessInfo[]): ProcessInfo[] {
  return processes.filter((info) => {
    try {
      const argv = readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      return argv.join('\0') === info.argv.join('\0');
    } catch {
      return false;
    }
  });
}

// The sandbox logins now waiting in authentication (their key command sleeping).
const sleepingLogins = (): number[] =>
  remoteProcesses(
    sandbox.current,
    (argv) => argv[0] === 'sleep' && argv[1] === AUTH_SLEEP && argv.length === 2,
  ).map((info) => info.pid);

// Resolves once `count` logins more than `before` are waiting in authentication.
async function authenticating(before: number[], count = 1): Promise<void> {
  await waitFor(
    () => sleepingLogins().filter((pid) => !before.includes(pid)).length >= count,
    60000,
  );
}

describe('abort while ssh connects or authenticates', () => {
  it(
    'SIGTERM while the server never answers: push exits 143 and leaves no ssh running',
    slow,
    async () => {
      const accepted = silent.accepted;
      const run = startCli(['push', ...cfg(), ...NO_TIMEOUT, 'silent:/tmp/never']);
      run.child.stdin!.write(randomBytes(64 * 1024));
      await silent.connected(accepted + 1);
      const ssh = sshUnder(run.child.pid!);
      assert.ok(ssh.length > 0, 'ssh is running');
      run.child.kill('SIGTERM');
      const result = await run.done;
      assert.equal(result.signal, null, 'killed by the signal instead of exiting');
      assert.equal(result.code, 143, result.stderr);
      assert.match(result.stderr, /^sshstream: push silent:\/tmp\/never: terminated\n$/);
      assert.deepEqual(stillRunning(ssh), []);
    },
  );

  it(
    'SIGINT while the real sshd authenticates: push exits 130, nothing committed, no ssh left',
    slow,
    async () => {
      const dir = await freshDir(sandbox.current);
      const target = join(dir, 'kept');
      await writeFile(target, 'old contents');
      const waiting = sleepingLogins();
      const run = startCli(['push', ...cfg(), `${sandbox.current.host}:${target}`]);
      run.child.stdin!.end(randomBytes(100 * 1024));
      await authenticating(waiting);
      const ssh = sshUnder(run.child.pid!);
      run.child.kill('SIGINT');
      const result = await run.done;
      assert.equal(result.signal, null, 'killed by the signal instead of exiting');
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stderr, /interrupted/);
      assert.deepEqual(stillRunning(ssh), []);
      assert.equal(await readFile(target, 'utf8'), 'old contents');
      assert.deepEqual(await leftovers(dir), []);
    },
  );

  it(
    'SIGINT during a fan-out whose targets are connecting: exit 130, nothing committed',
    slow,
    async () => {
      const dir = await freshDir(sandbox.current);
      const target = join(dir, 'fan');
      const waiting = sleepingLogins();
      const accepted = silent.accepted;
      const run = startCli([
        'push',
        ...cfg(),
        ...NO_TIMEOUT,
        `${sandbox.current.host}:${target}`,
        'silent:/tmp/x',
      ]);
      run.child.stdin!.write(randomBytes(64 * 1024));
      await Promise.all([authenticating(waiting), silent.connected(accepted + 1)]);
      const ssh = sshUnder(run.child.pid!);
      run.child.kill('SIGINT');
      const result = await run.done;
      assert.equal(result.signal, null, 'killed by the signal instead of exiting');
      assert.equal(result.code, 130, result.stderr);
      assert.deepEqual(stillRunning(ssh), []);
      await assert.rejects(readFile(target), { code: 'ENOENT' });
      assert.deepEqual(await leftovers(dir), []);
    },
  );

  it(
    'the library: aborting push() while the server never answers rejects with AbortError',
    slow,
    async () => {
      const controller = new AbortController();
      const accepted = silent.accepted;
      const pushing = push(Readable.from([randomBytes(32 * 1024)]), 'silent:/tmp/never', {
        config: configPath,
        stallTimeout: 0,
        signal: controller.signal,
      });
      await silent.connected(accepted + 1);
      const ssh = sshUnder(process.pid).filter((info) => info.argv.includes('silent'));
      assert.ok(ssh.length > 0, 'ssh is running');
      controller.abort();
      await assert.rejects(pushing, (error: unknown) => error instanceof AbortError);
      assert.deepEqual(stillRunning(ssh), []);
    },
  );

  it(
    'the library: aborting a fan-out while the real sshd authenticates rejects with AbortError',
    slow,
    async () => {
      const dir = await freshDir(sandbox.current);
      const targets = [join(dir, 'a'), join(dir, 'b')];
      const waiting = sleepingLogins();
      const controller = new AbortController();
      const stream = createPushStream(
        targets.map((path) => `${sandbox.current.host}:${path}`),
        { config: configPath, signal: controller.signal },
      );
      const flowing = pipeline(Readable.from([randomBytes(100 * 1024)]), stream);
      await authenticating(waiting, 2);
      controller.abort();
      await assert.rejects(flowing, (error: unknown) => error instanceof AbortError);
      await assert.rejects(stream.result, (error: unknown) => error instanceof AbortError);
      for (const path of targets) await assert.rejects(readFile(path), { code: 'ENOENT' });
      assert.deepEqual(await leftovers(dir), []);
    },
  );
});
