// Real Dropbear (the server of OpenWrt, DietPi and many NAS images), driven by the real CLI:
// first with an ordinary sh user, then with a user whose login shell is BusyBox sh and whose
// PATH holds only OpenWrt's default applets (no od, stat, cksum, sha1sum, timeout).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { runCli, startCli, type CliResult } from './helpers/cli.js';
import { ensureBusyboxUser, findBusybox, OPENWRT_BIN } from './helpers/busybox.js';
import { leftovers, md5 } from './helpers/files.js';
import { useSandbox } from './helpers/sandbox.js';
import { ensureUser, isRoot, userDir, type TestUser } from './helpers/users.js';

const run = promisify(execFile);
const ready = isRoot() && process.platform === 'linux' && findBusybox() !== undefined;
const SH_USER = 'sshstream-sh';
const BUSYBOX_USER = 'sshstream-busybox';
const users = new Map<string, TestUser>();
before(async () => {
  if (!ready) return;
  users.set(SH_USER, await ensureUser(SH_USER, 'sh'));
  users.set(BUSYBOX_USER, await ensureBusyboxUser(BUSYBOX_USER));
});

// Runs the CLI with a local file as its stdin: ssh then reads the file itself (a direct push).
async function pushFile(args: string[], input: string): Promise<{ done: Promise<CliResult> }> {
  const handle = await open(input, 'r');
  const run = startCli(args, {}, handle.fd);
  return { done: run.done.finally(() => handle.close()) };
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;

for (const name of [SH_USER, BUSYBOX_USER]) {
  describe(`Dropbear, login ${name}`, { skip: !ready && 'needs root, Linux and busybox' }, () => {
    const sandbox = useSandbox({ server: 'dropbear', user: name });
    const cfg = (): string[] => ['-F', sandbox.current.configPath];
    let dir: string;
    let n = 0;
    const fresh = async (): Promise<string> => {
      const path = join(dir, `case-${n++}`);
      await userDir(dir, `case-${n - 1}`, users.get(name));
      return path;
    };
    before(async () => {
      dir = await userDir(sandbox.current.scratch, 'dropbear', users.get(name));
    });

    it('logs in with the expected shell and PATH', async () => {
      const { stdout } = await run(
        'ssh',
        [...cfg(), sandbox.current.host, 'echo "$PATH"; command -v od || echo no-od'],
        {
          timeout: 20_000,
        },
      );
      const expected = name === BUSYBOX_USER ? `${OPENWRT_BIN}\nno-od\n` : /\/od\n$/;
      if (typeof expected === 'string') assert.equal(stdout, expected);
      else assert.match(stdout, expected);
    });

    it('pushes and pulls a small inline input', async () => {
      const at = await fresh();
      const target = `${sandbox.current.host}:${at}/small`;
      const pushed = await runCli(['push', ...cfg(), target], 'hello, router\n');
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(await readFile(join(at, 'small'), 'utf8'), 'hello, router\n');
      const pulled = await runCli(['pull', '-q', ...cfg(), target]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(pulled.stdout.toString(), 'hello, router\n');
      assert.deepEqual(await leftovers(at), []);
    });

    it('pushes and pulls a piped input over 16 KiB', async () => {
      const at = await fresh();
      const data = randomBytes(300_000);
      const target = `${sandbox.current.host}:${at}/piped`;
      const pushed = await runCli(['push', ...cfg(), target], data);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified\\n$`));
      assert.ok((await readFile(join(at, 'piped'))).equals(data));
      const pulled = await runCli(['pull', '-q', ...cfg(), target]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.ok(pulled.stdout.equals(data));
      assert.deepEqual(await leftovers(at), []);
    });

    it('pushes a large file directly (ssh reads it as stdin)', async () => {
      const at = await fresh();
      const input = join(sandbox.current.dir, `input-${name}`);
      const data = randomBytes(64 * 1024 * 1024);
      await writeFile(input, data);
      const run = await pushFile(['push', ...cfg(), `${sandbox.current.host}:${at}/big`], input);
      const pushed = await run.done;
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified\\n$`));
      assert.equal(md5(await readFile(join(at, 'big'))), md5(data));
      assert.deepEqual(await leftovers(at), []);
    });

    it('overwriting a file keeps its mode', async () => {
      const at = await fresh();
      const target = `${sandbox.current.host}:${at}/script`;
      assert.equal((await runCli(['push', ...cfg(), target], 'v1\n')).code, 0);
      await chmod(join(at, 'script'), 0o751);
      const pushed = await runCli(['push', ...cfg(), target], 'v2\n');
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(await readFile(join(at, 'script'), 'utf8'), 'v2\n');
      assert.equal((await modeOf(join(at, 'script'))).toString(8), '751');
    });

    it('--compress gzip pushes and pulls', async () => {
      const at = await fresh();
      const data = Buffer.from('compressible router log line\n'.repeat(20_000));
      const target = `${sandbox.current.host}:${at}/log`;
      const pushed = await runCli(['push', '--compress', 'gzip', ...cfg(), target], data);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.ok((await readFile(join(at, 'log'))).equals(data));
      const pulled = await runCli(['pull', '-q', '--compress', 'gzip', ...cfg(), target]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.ok(pulled.stdout.equals(data));
    });

    it('a remote error arrives with its message and exits 4', async () => {
      const at = await fresh();
      const target = `${sandbox.current.host}:${at}/missing/file`;
      const pushed = await runCli(['push', ...cfg(), target], 'x');
      assert.equal(pushed.code, 4, pushed.stderr);
      assert.match(pushed.stderr, /: no such directory \(use --mkdir to create it\)\n$/);
      const pulled = await runCli(['pull', ...cfg(), target]);
      assert.equal(pulled.code, 4, pulled.stderr);
      assert.match(pulled.stderr, /: no such file\n$/);
    });

    it('error text with a newline and non-ASCII bytes arrives intact', async () => {
      const at = await fresh();
      await writeFile(join(at, 'blo\nné'), '');
      // mkdir -p fails under a regular file, naming it (BusyBox: raw newline and UTF-8) in its message.
      const target = `${sandbox.current.host}:${at}/blo\nné/dir/file`;
      const pushed = await runCli(['push', '--mkdir', ...cfg(), target], 'x');
      assert.equal(pushed.code, 4, pushed.stderr);
      assert.match(pushed.stderr, /: cannot create directory: mkdir: .*blo.*: Not a directory\n$/);
    });
  });
}
