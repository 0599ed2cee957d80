// When the server will not let sshstream in, the one-line error says why, with the right exit
// code: an sftp-only account (ForceCommand internal-sftp) gets the server's own reason, and a
// wrong password fed by sshpass is a failed authentication (2), not a remote failure (4).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { ensurePasswordUser, ensureUser } from '../helpers/users.js';
import { isRoot, rootOnly } from '../helpers/prerequisites.js';

const SFTP_USER = 'sshstream-sftponly';
const PASSWORD_USER = 'sshstream-password';
const PASSWORD = 'correct horse';

let sandbox: Sandbox | undefined;

before(async () => {
  if (!isRoot()) return;
  await ensureUser('sshstream-sh', 'sh');
  await ensureUser(SFTP_USER, 'sh');
  await ensurePasswordUser(PASSWORD_USER, 'sh', PASSWORD);
  sandbox = await startSandbox({
    user: 'sshstream-sh',
    sshdConfig: ['PasswordAuthentication yes'],
    sshdMatch: [`Match User ${SFTP_USER}`, '  ForceCommand internal-sftp'],
  });
});

after(async () => {
  await sandbox?.stop();
});

describe('sftp-only account (real sshd, ForceCommand internal-sftp)', () => {
  const reason =
    /^sshstream: (push|pull) sshstream-sftponly@sandbox:\/tmp\/sftp-only: the server allows this account sftp only \(ForceCommand internal-sftp\), and sshstream needs to run sh there; the server said: This service allows sftp connections only\.\n$/;

  it('push fails with the server reason, exit 4', async (t) => {
    if (!rootOnly(t)) return;
    const target = `${SFTP_USER}@${sandbox!.host}:/tmp/sftp-only`;
    const result = await runCli(['push', ...sandbox!.sshArgs, target], 'data');
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, reason);
  });

  it('pull fails with the server reason, exit 4', async (t) => {
    if (!rootOnly(t)) return;
    const target = `${SFTP_USER}@${sandbox!.host}:/tmp/sftp-only`;
    const result = await runCli(['pull', ...sandbox!.sshArgs, target]);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, reason);
    assert.equal(result.stdout.length, 0);
  });
});

describe('password login under sshpass (real sshd)', () => {
  const sshpass = (password: string) => [
    '-o',
    'PubkeyAuthentication=no',
    '-o',
    'BatchMode=no',
    '--ssh',
    `sshpass -p '${password}' ssh`,
  ];

  it('the right password: push works (the account and sshd take passwords)', async (t) => {
    if (!rootOnly(t)) return;
    const target = `${PASSWORD_USER}@${sandbox!.host}:/tmp/sshstream-right-password`;
    const result = await runCli(['push', ...sandbox!.sshArgs, ...sshpass(PASSWORD), target], 'x');
    assert.equal(result.code, 0, result.stderr);
  });

  for (const operation of ['push', 'pull'] as const) {
    it(`${operation}: authentication failed, exit 2`, async (t) => {
      if (!rootOnly(t)) return;
      const target = `${PASSWORD_USER}@${sandbox!.host}:/tmp/wrong-password`;
      const result = await runCli(
        [operation, ...sandbox!.sshArgs, ...sshpass('wrong password'), target],
        'data',
      );
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `sshstream: ${operation} ${target}: authentication failed: Permission denied, please try again.\n`,
      );
    });
  }
});
