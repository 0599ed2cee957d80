// ssh asks for passwords and host-key confirmation on the terminal. Nothing sshstream draws may
// cover the question: progress starts only once ssh has authenticated, and a fan-out asks for
// its targets' passwords one at a time. Run on a real terminal (tmux) against the real sshd.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from '../helpers/cli.js';
import { md5 } from '../helpers/files.js';
import {
  PASSWORD,
  PASSWORD_PROMPT,
  PASSWORD_USER,
  usePromptSandbox,
} from '../helpers/prompt-sandbox.js';
import type { Terminal } from '../helpers/terminal.js';
import { rootOnly } from '../helpers/prerequisites.js';

const HOST_KEY_PROMPT = 'Are you sure you want to continue connecting (yes/no/[fingerprint])? ';
// How long a question must stay alone on the terminal: the progress bar redraws every 100 ms.
const WATCH_MS = 1500;

const setup = usePromptSandbox('sshstream-prompts-', []);

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
  const path = join(setup.local, name);
  await writeFile(path, data);
  return { path, data };
}

const passwordLogin = ['-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=no'];

describe('ssh questions on the terminal are not drawn over (tmux, real sshd)', () => {
  it('push asking for a password: the prompt stays alone until answered, then it verifies', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await setup.fresh(setup.passwordUser);
    const input = await inputFile('push-input', 4 << 20);
    const target = `${PASSWORD_USER}@${setup.sandbox.host}:${dir}/file`;
    const terminal = await setup.onTerminal(
      [CLI, 'push', ...setup.sandbox.sshArgs, ...passwordLogin, target],
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
    const dir = await setup.fresh(setup.keyUser);
    const knownHosts = join(setup.local, 'known_hosts-empty');
    await writeFile(knownHosts, '');
    const input = await inputFile('host-key-input', 4 << 20);
    const terminal = await setup.onTerminal(
      [
        CLI,
        'push',
        ...setup.sandbox.sshArgs,
        ...['-o', 'StrictHostKeyChecking=ask', '-o', `UserKnownHostsFile=${knownHosts}`],
        ...['-o', 'BatchMode=no'],
        `${setup.sandbox.host}:${dir}/file`,
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
    const dir = await setup.fresh(setup.passwordUser);
    const input = await inputFile('fan-out-input', 4 << 20);
    const targets = [1, 2, 3].map((n) => `${PASSWORD_USER}@${setup.sandbox.host}:${dir}/file${n}`);
    const terminal = await setup.onTerminal(
      [CLI, 'push', ...setup.sandbox.sshArgs, ...passwordLogin, ...targets],
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
