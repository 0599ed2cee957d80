// sshd with `MaxSessions 1` allows one session per connection. The control script takes the
// master's, so the data session is refused there: it then connects on its own, never asking
// the user anything (lib/ssh/rider.ts). With a key that works: push verifies in every form, pull
// needs one session only, an interrupt leaves nothing behind, the user's own master still
// serves. (Logins that need a password: max-sessions-prompts.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chown, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { encodeArgument } from '../../lib/remote/script.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { leftovers, md5, waitFor } from '../helpers/files.js';
import { descendants } from '../helpers/processes.js';
import { freshDir } from '../helpers/sandbox.js';
import { ensureUser, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly } from '../helpers/prerequisites.js';

const run = promisify(execFile);

let sandbox: Sandbox | undefined;
let keyUser: TestUser | undefined;
let local: string;

before(async () => {
  local = await mkdtemp(join(tmpdir(), 'sshstream-max-sessions-'));
  if (!isRoot()) return;
  keyUser = await ensureUser('sshstream-sh', 'sh');
  sandbox = await startSandbox({ user: keyUser.name, sshdConfig: ['MaxSessions 1'] });
});

after(async () => {
  await sandbox?.stop();
  await rm(local, { recursive: true, force: true });
});

let n = 0;

// The CLI with a local file as its stdin (re-readable: resume; big: ssh reads it itself).
async function pushFile(args: string[], input: string): Promise<{ done: Promise<CliResult> }> {
  const handle = await open(input, 'r');
  const run = startCli(['push', ...args], {}, handle.fd);
  void run.done.finally(() => handle.close());
  return { done: run.done };
}

// Processes anywhere on this machine (ssh here, the sessions under sshd) whose arguments hold
// `path` as sshstream encodes it for the remote script.
const processesFor = (path: string) =>
  descendants(1).filter((info) => info.argv.some((arg) => arg.includes(encodeArgument(path))));

// Bytes in the push's temporary file so far.
async function landed(dir: string): Promise<number> {
  const [name] = (await leftovers(dir)).filter((file) => file.endsWith('.tmp'));
  return name === undefined ? 0 : ((await stat(join(dir, name)).catch(() => undefined))?.size ?? 0);
}

async function inputFile(size: number): Promise<{ path: string; data: Buffer }> {
  const data = randomBytes(size);
  const path = join(local, `input-${n++}`);
  await writeFile(path, data);
  return { path, data };
}

describe('sshd MaxSessions 1, key login: the data connects on its own (real sshd)', () => {
  it('push of 1 MiB from a pipe verifies and lands byte-identical', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await freshDir(sandbox!);
    const data = randomBytes(1 << 20);
    const result = await runCli(['push', ...sandbox!.sshArgs, `${sandbox!.host}:${dir}/out`], data);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`md5 ${md5(data)} verified`));
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    assert.deepEqual(await leftovers(dir), []);
  });

  it('push of a 64 MiB file that ssh reads itself (direct) verifies', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await freshDir(sandbox!);
    const input = await inputFile(64 << 20);
    const result = await (
      await pushFile([...sandbox!.sshArgs, `${sandbox!.host}:${dir}/out`], input.path)
    ).done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(input.data));
    assert.deepEqual(await leftovers(dir), []);
  });

  it('push -z and --resume continuing a partial file verify', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await freshDir(sandbox!);
    const input = await inputFile(3 << 20);
    // What an earlier resumable push left: the first MiB, under the shared partial name.
    const partial = join(dir, '.out.sshstream-partial');
    await writeFile(partial, input.data.subarray(0, 1 << 20));
    await chown(partial, keyUser!.uid, keyUser!.gid);
    const target = `${sandbox!.host}:${dir}/out`;
    const resumed = await (
      await pushFile([...sandbox!.sshArgs, '--resume', '--json', target], input.path)
    ).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout.toString()).resumed, 1 << 20);
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(input.data));
    const text = Buffer.from('compressible line\n'.repeat(100_000));
    const zipped = await runCli(
      ['push', ...sandbox!.sshArgs, '-z', `${sandbox!.host}:${dir}/z`],
      text,
    );
    assert.equal(zipped.code, 0, zipped.stderr);
    assert.equal(md5(await readFile(join(dir, 'z'))), md5(text));
    assert.deepEqual(await leftovers(dir), []);
  });

  it('pull of 1 MiB verifies, to stdout and to a file', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await freshDir(sandbox!);
    const data = randomBytes(1 << 20);
    await writeFile(join(dir, 'source'), data);
    const source = `${sandbox!.host}:${dir}/source`;
    const toStdout = await runCli(['pull', ...sandbox!.sshArgs, source]);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.equal(md5(toStdout.stdout), md5(data));
    const toFile = await runCli(['pull', ...sandbox!.sshArgs, source, join(local, 'pulled')]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(md5(await readFile(join(local, 'pulled'))), md5(data));
  });

  it('SIGINT while the data flows on its own connection: exit 130, nothing left', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await freshDir(sandbox!);
    await writeFile(join(dir, 'out'), 'original');
    const run = startCli([
      'push',
      ...sandbox!.sshArgs,
      '--limit-rate',
      '1M',
      `${sandbox!.host}:${dir}/out`,
    ]);
    run.child.stdin!.end(randomBytes(8 << 20));
    await waitFor(async () => (await landed(dir)) > 0, 120_000);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    assert.deepEqual(await leftovers(dir), []);
    await waitFor(() => processesFor(`${dir}/out`).length === 0, 30_000);
  });

  it("riding the user's own ControlMaster: push verifies, the master keeps running", async (t) => {
    if (!rootOnly(t)) return;
    const config = join(local, 'user_master_config');
    await writeFile(
      config,
      `Include ${sandbox!.configPath}\n` +
        `Host *\n  ControlMaster auto\n  ControlPath ${local}/cm-%C\n  ControlPersist 300\n`,
    );
    const ssh = (args: string[]) =>
      run('ssh', ['-F', config, ...args, '--', sandbox!.host, 'true'], { timeout: 60_000 });
    await ssh([]); // the master: ControlPersist keeps it after its own session ends
    try {
      const dir = await freshDir(sandbox!);
      const data = randomBytes(1 << 20);
      const result = await runCli(['push', '-F', config, `${sandbox!.host}:${dir}/out`], data);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
      await ssh(['-O', 'check']);
    } finally {
      await ssh(['-O', 'exit']).catch(() => undefined);
    }
  });
});
