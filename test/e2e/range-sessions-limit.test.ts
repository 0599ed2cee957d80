// A transfer in ranges runs each range on a session of its own. Where its lanes cannot have
// connections of their own (here: a key that needs its passphrase, given once through askpass),
// every lane is one more session on the one connection, and sshd's MaxSessions (10 by default)
// refuses those past the limit; their fallback connection cannot log in without asking. The
// transfer must then finish on the lanes the server allows, asking nothing twice; only where no
// range session at all is allowed does it fail, with exit 2 and one line naming MaxSessions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findSshKeygen } from '../../lib/sandbox/binaries.js';
import type { Sandbox } from '../../lib/sandbox/sandbox.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { exists, leftovers, waitFor, writeScript } from '../helpers/files.js';
import { rootOnly } from '../helpers/prerequisites.js';
import { remoteProcesses } from '../helpers/processes.js';
import { useShSandbox } from '../helpers/sandbox.js';
import { userDir } from '../helpers/users.js';

const MiB = 1 << 20;
const three = useShSandbox({ sshdConfig: ['MaxSessions 3', 'LogLevel VERBOSE'] });
const one = useShSandbox({ sshdConfig: ['MaxSessions 1', 'LogLevel VERBOSE'] });
let n = 0;

interface Setup {
  dir: string;
  /** ssh options reaching the sandbox with the passphrase key, and the env that answers it. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** How many times the passphrase was asked for so far. */
  asked: () => Promise<number>;
}

// A fresh directory and a config whose key needs its passphrase: askpass gives it, counting.
async function setup(sandbox: typeof three): Promise<Setup> {
  const dir = await userDir(sandbox.current.scratch, `limit-${n++}`, sandbox.user);
  const key = join(dir, 'key');
  await copyFile(sandbox.current.identityPath, key);
  execFileSync(findSshKeygen(), ['-q', '-p', '-P', '', '-N', 'open sesame', '-f', key]);
  const text = await readFile(sandbox.current.configPath, 'utf8');
  const config = join(dir, 'ssh_config');
  const asking = text.replace(/IdentityFile \S+/g, `IdentityFile ${key}`);
  await writeFile(config, asking.replace(/BatchMode yes/g, 'BatchMode no'));
  const asked = join(dir, 'asked');
  const askpass = await writeScript(dir, 'askpass', `echo x >> '${asked}'\necho 'open sesame'\n`);
  return {
    dir,
    args: ['-F', config, '--single-connection'],
    env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '' },
    asked: async () =>
      (await exists(asked)) ? (await readFile(asked, 'utf8')).split('\n').length - 1 : 0,
  };
}

const logins = (sandbox: Sandbox): number =>
  (sandbox.log().match(/Accepted publickey for /g) ?? []).length;

// Runs the CLI, a regular file on its stdin (a push reads it in ranges); counts its logins.
async function cli(
  sandbox: Sandbox,
  args: string[],
  env: NodeJS.ProcessEnv,
  input = '/dev/null',
): Promise<CliResult & { logins: number }> {
  const before = logins(sandbox);
  const handle = await open(input, 'r');
  const result = await startCli(args, env, handle.fd).done.finally(() => handle.close());
  return { ...result, logins: logins(sandbox) - before };
}

// Nothing of the transfer still runs: no ssh here with the test's config, no session there.
async function assertNothingRunning(sandbox: Sandbox, dir: string): Promise<void> {
  const ssh = () =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.startsWith('ssh ') && line.includes(dir));
  const remote = () => remoteProcesses(sandbox, (argv) => !argv[0]!.includes('sshd'));
  await waitFor(() => ssh().length === 0 && remote().length === 0, 10_000).catch(() => {});
  assert.deepEqual(ssh(), []);
  assert.deepEqual(remote(), []);
}

describe('more range sessions than sshd MaxSessions allows on one connection (real sshd)', () => {
  it('push --streams 6 with MaxSessions 3 finishes on the lanes allowed', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, args, env, asked } = await setup(three);
    const data = randomBytes(12 * MiB + 7);
    await writeFile(join(dir, 'input'), data);
    const target = `${three.current.host}:${dir}/out`;
    const push = await cli(
      three.current,
      ['push', ...args, '--streams', '6', target],
      env,
      join(dir, 'input'),
    );
    assert.equal(push.code, 0, push.stderr);
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    assert.equal(await asked(), 1, 'passphrase asked once');
    assert.equal(push.logins, 1);
    assert.deepEqual(await leftovers(dir), []);
    await assertNothingRunning(three.current, dir);
  });

  it('pull --streams 6 with MaxSessions 3 finishes on the lanes allowed', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, args, env, asked } = await setup(three);
    const data = randomBytes(12 * MiB + 7);
    await writeFile(join(dir, 'source'), data);
    const source = `${three.current.host}:${dir}/source`;
    const pull = await cli(
      three.current,
      ['pull', ...args, '--streams', '6', source, join(dir, 'back')],
      env,
    );
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok((await readFile(join(dir, 'back'))).equals(data));
    assert.equal(await asked(), 1, 'passphrase asked once');
    assert.equal(pull.logins, 1);
    assert.deepEqual(await leftovers(dir), []);
    await assertNothingRunning(three.current, dir);
  });

  // One stream of a big file goes on a session of its own, which ssh writes into the local file
  // itself; refused it, the control session carries the file, as it does a small one.
  it('MaxSessions 1: a pull in one stream falls back to the control session', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, args, env, asked } = await setup(one);
    const data = randomBytes(6 * MiB + 1);
    await writeFile(join(dir, 'source'), data);
    const back = join(dir, 'back');
    const pull = await cli(
      one.current,
      ['pull', ...args, `${one.current.host}:${dir}/source`, back],
      { ...env, SSHSTREAM_DEBUG: '1' },
    );
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stderr, /lane 0 never ran \(refused a session\)/);
    assert.ok((await readFile(back)).equals(data));
    assert.equal(await asked(), 1, 'passphrase asked once');
    assert.equal(pull.logins, 1);
    assert.deepEqual(await leftovers(dir), []);
    await assertNothingRunning(one.current, dir);
  });

  it('MaxSessions 1: no range session at all, exit 2 and one line naming MaxSessions', async (t) => {
    if (!rootOnly(t)) return;
    const { dir, args, env, asked } = await setup(one);
    await writeFile(join(dir, 'input'), randomBytes(4 * MiB));
    await writeFile(join(dir, 'out'), 'original');
    const target = `${one.current.host}:${dir}/out`;
    const push = await cli(
      one.current,
      ['push', ...args, '--streams', '4', target],
      env,
      join(dir, 'input'),
    );
    assert.equal(push.code, 2, push.stderr);
    assert.match(push.stderr, /^[^\n]*MaxSessions[^\n]*\n$/);
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    const back = join(dir, 'back');
    const pull = await cli(
      one.current,
      ['pull', ...args, '--streams', '4', `${one.current.host}:${dir}/input`, back],
      env,
    );
    assert.equal(pull.code, 2, pull.stderr);
    assert.match(pull.stderr, /^[^\n]*MaxSessions[^\n]*\n$/);
    assert.equal(await exists(back), false);
    assert.equal(await asked(), 2, 'passphrase asked once by each');
    assert.deepEqual(await leftovers(dir), []);
    await assertNothingRunning(one.current, dir);
  });
});
