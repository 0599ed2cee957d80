// A user who logs in with a password: a transfer in ranges asks once, and its further streams
// ride that one connection (lib/ssh/unasked-login.ts). Where ssh has no key and no agent to
// offer, the lanes' own connections (BatchMode) could only fail, a login's time later and as
// failed attempts in the server's log, so none is tried; where a key file exists, one is.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findSshKeygen } from '../../lib/sandbox/binaries.js';
import { startCli } from '../helpers/cli.js';
import { leftovers, writeScript } from '../helpers/files.js';
import { rootOnly } from '../helpers/prerequisites.js';
import { PASSWORD, PASSWORD_USER, usePromptSandbox } from '../helpers/prompt-sandbox.js';

const MiB = 1 << 20;
const setup = usePromptSandbox('sshstream-password-lanes-', []);

let n = 0;

/**
 * Pushes 5 MiB + 1 (3 ranges) with --streams 3 as PASSWORD_USER, the password given through
 * askpass, with `identity` as the only key file; returns how often the password was asked, the
 * lane logins ssh was started for, and the CLI's result.
 */
async function pushAsPasswordUser(identity: string) {
  const dir = await setup.fresh(setup.passwordUser);
  const local = join(setup.local, `run-${n++}`);
  await mkdir(local);
  const config = join(local, 'ssh_config');
  const text = await readFile(setup.sandbox.configPath, 'utf8');
  await writeFile(
    config,
    text
      .replace(/IdentityFile \S+/g, `IdentityFile ${identity}`)
      .replace(/BatchMode yes/g, 'BatchMode no'),
  );
  const asked = join(local, 'asked');
  const askpass = await writeScript(local, 'askpass', `echo x >> '${asked}'\necho '${PASSWORD}'\n`);
  const log = join(local, 'ssh.log');
  const ssh = await writeScript(local, 'ssh', `echo "$*" >> '${log}'\nexec ssh "$@"\n`);
  const data = randomBytes(5 * MiB + 1);
  await writeFile(join(local, 'input'), data);
  const env = { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '' };
  const handle = await open(join(local, 'input'), 'r');
  const target = `${PASSWORD_USER}@${setup.sandbox.host}:${dir}/out`;
  const args = ['push', '-F', config, '--ssh', ssh, '--streams', '3', target];
  const result = await startCli(args, env, handle.fd).done.finally(() => handle.close());
  const count = async (file: string, pattern: RegExp) =>
    (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((line) => pattern.test(line))
      .length;
  return {
    result,
    data,
    out: join(dir, 'out'),
    dir,
    asked: await count(asked, /^x$/),
    laneLogins: await count(log, /ControlMaster=yes.*ControlPath=\S*\/lane-\d/),
    // Lanes beyond the first that tried a login of their own.
    laterLanes: await count(log, /ControlMaster=yes.*ControlPath=\S*\/lane-[2-9]/),
  };
}

describe('a password login and the streams of a transfer in ranges (real sshd)', () => {
  it('no key file and no agent: asked once, and no lane tries a login of its own', async (t) => {
    if (!rootOnly(t)) return;
    const run = await pushAsPasswordUser(join(setup.local, 'no-such-key'));
    assert.equal(run.result.code, 0, run.result.stderr);
    assert.equal(run.asked, 1, `password asked once: ${run.asked}\n${run.result.stderr}`);
    assert.equal(run.laneLogins, 0, `lane logins tried: ${run.laneLogins}`);
    assert.ok((await readFile(run.out)).equals(run.data));
    assert.deepEqual(await leftovers(run.dir), []);
  });

  // Each failed login is one the server may count against the client's address (OpenSSH
  // 9.8+ PerSourcePenalties: 5 s each, and 15 s of them block it): where the password was
  // asked, lane 1 tries alone (once more after the first connection, if it failed before),
  // and the lanes after it ride once it could not.
  it('a key file that exists (one the server does not take): lane 1 tries it, then all ride', async (t) => {
    if (!rootOnly(t)) return;
    const key = join(setup.local, 'other-key');
    execFileSync(findSshKeygen(), ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const run = await pushAsPasswordUser(key);
    assert.equal(run.result.code, 0, run.result.stderr);
    assert.equal(run.asked, 1, `password asked once: ${run.asked}\n${run.result.stderr}`);
    assert.ok(run.laneLogins >= 1 && run.laneLogins <= 2, `lane logins tried: ${run.laneLogins}`);
    assert.equal(run.laterLanes, 0, `logins of lanes after the first: ${run.laterLanes}`);
    assert.ok((await readFile(run.out)).equals(run.data));
  });
});
