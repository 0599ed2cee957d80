// sshd with `MaxSessions 1` refuses a push's data session on the connection the user logged in
// with, and the data connects on its own without asking (lib/ssh/rider.ts). Where that connection
// would need a password, the user is still asked exactly once (on a real terminal, tmux), and
// the push fails with one line naming the limit, exit 2, and leaves nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeArgument } from '../../lib/remote/script.js';
import { CLI } from '../helpers/cli.js';
import { leftovers, waitFor } from '../helpers/files.js';
import { descendants } from '../helpers/processes.js';
import {
  PASSWORD,
  PASSWORD_PROMPT,
  PASSWORD_USER,
  usePromptSandbox,
} from '../helpers/prompt-sandbox.js';
import type { Terminal } from '../helpers/terminal.js';
import { rootOnly } from '../helpers/prerequisites.js';

const LIMIT =
  /: the server allows no further session on one connection \(sshd MaxSessions\), and a second connection could not log in without asking again \(.+\): use key or agent authentication, or raise MaxSessions on the server\r?\n/;

const setup = usePromptSandbox('sshstream-max-sessions-prompts-', ['MaxSessions 1']);

let n = 0;

// Processes anywhere on this machine (ssh here, the sessions under sshd) whose arguments hold
// `path` as sshstream encodes it for the remote script.
const processesFor = (path: string) =>
  descendants(1).filter((info) => info.argv.some((arg) => arg.includes(encodeArgument(path))));

async function inputFile(size: number): Promise<string> {
  const path = join(setup.local, `input-${n++}`);
  await writeFile(path, randomBytes(size));
  return path;
}

const count = (text: string, part: string) => text.split(part).length - 1;

// Answers the first password question, then waits for the exit (or for a second question,
// which must not come).
async function answerOnce(terminal: Terminal): Promise<{ code: number; written: string }> {
  await terminal.waitFor((text) => count(text, PASSWORD_PROMPT) >= 1, 'password question');
  await terminal.type(PASSWORD);
  const written = await terminal.waitFor(
    (text) => /\[exit \d+\]/.test(text) || count(text, PASSWORD_PROMPT) >= 2,
    'exit',
  );
  assert.equal(count(written, PASSWORD_PROMPT), 1, `asked once only: ${written}`);
  return { code: Number(/\[exit (\d+)\]/.exec(written)![1]), written };
}

describe('sshd MaxSessions 1, a second connection would need a password (tmux, real sshd)', () => {
  it('asks once, then exits 2 naming MaxSessions; destination and remote side clean', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await setup.fresh(setup.passwordUser);
    await writeFile(join(dir, 'out'), 'original');
    const input = await inputFile(1 << 20);
    const login = ['-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=no'];
    const target = `${PASSWORD_USER}@${setup.sandbox.host}:${dir}/out`;
    const terminal = await setup.onTerminal(
      [CLI, 'push', ...setup.sandbox.sshArgs, ...login, target],
      input,
    );
    const { code, written } = await answerOnce(terminal);
    assert.equal(code, 2, written);
    assert.match(written, new RegExp(`sshstream: push ${target}${LIMIT.source}`));
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    assert.deepEqual(await leftovers(dir), []);
    await waitFor(() => processesFor(`${dir}/out`).length === 0, 30_000);
  });

  it('through a jump host that takes a password: still asked once only', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await setup.fresh(setup.keyUser);
    const input = await inputFile(1 << 20);
    // The target takes the key; the jump host (the same sshd) only the password. A ProxyJump's
    // inner ssh does not inherit BatchMode: only a rider without a terminal cannot ask.
    const config = join(setup.local, 'jump_config');
    const common = (user: string) =>
      [
        '  HostName 127.0.0.1',
        `  Port ${setup.sandbox.port}`,
        `  User ${user}`,
        `  UserKnownHostsFile ${setup.sandbox.knownHostsPath}`,
        '  HostKeyAlias sshstream-sandbox',
        '  StrictHostKeyChecking yes',
        '  LogLevel ERROR',
      ].join('\n');
    await writeFile(
      config,
      `Host jump\n${common(PASSWORD_USER)}\n  PubkeyAuthentication no\n\n` +
        `Host behind\n${common(setup.keyUser!.name)}\n  IdentityFile ${setup.sandbox.identityPath}\n` +
        '  IdentitiesOnly yes\n  BatchMode yes\n  ProxyJump jump\n',
    );
    const target = `behind:${dir}/out`;
    const terminal = await setup.onTerminal([CLI, 'push', '-F', config, target], input);
    const { code, written } = await answerOnce(terminal);
    assert.equal(code, 2, written);
    assert.match(written, LIMIT);
    await assert.rejects(readFile(join(dir, 'out')), { code: 'ENOENT' });
    assert.deepEqual(await leftovers(dir), []);
    await waitFor(() => processesFor(`${dir}/out`).length === 0, 30_000);
  });
});
