// ssh asks for passwords and host-key confirmation on the terminal. Nothing sshstream draws may
// cover the question: progress starts only once ssh has authenticated, and a fan-out asks for
// its targets' passwords one at a time. Run on a real terminal (tmux) against the real sshd.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { CLI } from '../helpers/cli.js';
import { md5 } from '../helpers/files.js';
import { startTerminal, type Terminal } from '../helpers/terminal.js';
import { ensurePasswordUser, ensureUser, userDir, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly } from '../helpers/prerequisites.js';

const PASSWORD_USER = 'sshstream-password';
const PASSWORD = 'correct horse';
// ssh names the host by the sandbox's HostKeyAlias.
const PASSWORD_PROMPT = `${PASSWORD_USER}@sshstream-sandbox's password: `;
const HOST_KEY_PROMPT = 'Are you sure you want to continue connecting (yes/no/[fingerprint])? ';
// How long a question must stay alone on the terminal: the progress bar redraws every 100 ms.
const WATCH_MS = 1500;

let sandbox: Sandbox | undefined;
let passwordUser: TestUser | undefined;
let keyUser: TestUser | undefined;
let local: string;
const terminals: Terminal[] = [];

before(async () => {
  local = await mkdtemp(join(tmpdir(), 'sshstream-prompts-'));
  if (!isRoot()) return;
  keyUser = await ensureUser('sshstream-sh', 'sh');
  passwordUser = await ensurePasswordUser(PASSWORD_USER, 'sh', PASSWORD);
  sandbox = await startSandbox({
    user: 'sshstream-sh',
    sshdConfig: ['PasswordAuthentication yes'],
  });
});

after(async () => {
  for (const terminal of terminals) await terminal.stop();
  await sandbox?.stop();
  await rm(local, { recursive: true, force: true });
});

// The CLI on a terminal of its own, reading `input` (a local file) on stdin.
async function onTerminal(args: string[], input: string): Promise<Terminal> {
  const quoted = [process.execPath, CLI, ...args].map((arg) => `'${arg}'`).join(' ');
  const terminal = await startTerminal(local, `${quoted} < '${input}'`);
  terminals.push(terminal);
  return terminal;
}

const count = (text: string, part: string) => text.split(part).length - 1;

// Waits for the `nth` question, gives the bar time to (wrongly) draw, checks that the question
// is the last thing on the terminal and still on screen, then answers it.
async function answer(terminal: Terminal, prompt: string, nth: number, reply: string) {
  await terminal.waitFor((text) => count(text, prompt) >= nth, `question ${nth}`);
  await sleep(WATCH_MS);
  const written = await terminal.written();
  assert.equal(count(written, prompt), nth, `only ${nth} question(s) so far: ${written}`);
  assert.ok(
    written.endsWith(prompt),
    `nothing drawn after the question: ${JSON.stringify(written)}`,
  );
  const lines = (await terminal.screen()).split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.at(-1), prompt.trimEnd(), 'the question is intact on the screen');
  await terminal.type(reply);
}

async function exitOf(terminal: Terminal): Promise<{ code: number; written: string }> {
  const written = await terminal.waitFor((text) => /\[exit \d+\]/.test(text), 'exit');
  return { code: Number(/\[exit (\d+)\]/.exec(written)![1]), written };
}

async function inputFile(name: string, size: number): Promise<{ path: string; data: Buffer }> {
  const data = randomBytes(size);
  const path = join(local, name);
  await writeFile(path, data);
  return { path, data };
}

const passwordLogin = ['-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=no'];

describe('ssh questions on the terminal are not drawn over (tmux, real sshd)', () => {
  it('push asking for a password: the prompt stays alone until answered, then it verifies', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await userDir(sandbox!.scratch, 'prompt-push', passwordUser);
    const input = await inputFile('push-input', 4 << 20);
    const target = `${PASSWORD_USER}@${sandbox!.host}:${dir}/file`;
    const terminal = await onTerminal(
      ['push', ...sandbox!.sshArgs, ...passwordLogin, target],
      input.path,
    );
    await answer(terminal, PASSWORD_PROMPT, 1, PASSWORD);
    const { code, written } = await exitOf(terminal);
    assert.equal(code, 0, written);
    assert.equal(md5(await readFile(join(dir, 'file'))), md5(input.data));
    const afterwards = written.slice(written.indexOf(PASSWORD_PROMPT));
    assert.match(afterwards, /\rpush sshstream-password@sandbox:/, 'progress drawn once logged in');
    assert.match(afterwards, /sshstream: pushed 4\.0 MiB .* md5 [0-9a-f]{32} verified/);
  });

  it('push to an unknown host: the host-key question stays alone until answered', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await userDir(sandbox!.scratch, 'prompt-host-key', keyUser);
    const knownHosts = join(local, 'known_hosts-empty');
    await writeFile(knownHosts, '');
    const input = await inputFile('host-key-input', 4 << 20);
    const terminal = await onTerminal(
      [
        'push',
        ...sandbox!.sshArgs,
        ...['-o', 'StrictHostKeyChecking=ask', '-o', `UserKnownHostsFile=${knownHosts}`],
        ...['-o', 'BatchMode=no'],
        `${sandbox!.host}:${dir}/file`,
      ],
      input.path,
    );
    await answer(terminal, HOST_KEY_PROMPT, 1, 'yes');
    const { code, written } = await exitOf(terminal);
    assert.equal(code, 0, written);
    assert.equal(md5(await readFile(join(dir, 'file'))), md5(input.data));
  });

  it('fan-out to 3 targets asking for passwords: one question at a time, then all verify', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await userDir(sandbox!.scratch, 'prompt-fan-out', passwordUser);
    const input = await inputFile('fan-out-input', 4 << 20);
    const targets = [1, 2, 3].map((n) => `${PASSWORD_USER}@${sandbox!.host}:${dir}/file${n}`);
    const terminal = await onTerminal(
      ['push', ...sandbox!.sshArgs, ...passwordLogin, ...targets],
      input.path,
    );
    for (const nth of [1, 2, 3]) await answer(terminal, PASSWORD_PROMPT, nth, PASSWORD);
    const { code, written } = await exitOf(terminal);
    assert.equal(code, 0, written);
    for (const n of [1, 2, 3]) {
      assert.equal(md5(await readFile(join(dir, `file${n}`))), md5(input.data), `file${n}`);
    }
  });
});
