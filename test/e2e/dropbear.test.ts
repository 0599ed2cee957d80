// Real Dropbear (the server of OpenWrt, DietPi and many NAS images), driven by the real CLI:
// first with an ordinary sh user, then with a user whose login shell is BusyBox sh and whose
// PATH holds only OpenWrt's default applets (no od, stat, cksum, sha1sum, timeout).
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { ensureBusyboxUser, findBusybox, OPENWRT_BIN } from '../helpers/busybox.js';
import { landedSize, leftovers, md5, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureUser } from '../helpers/users.js';
import { isRoot, skipUnlessRoot } from '../helpers/prerequisites.js';

const run = promisify(execFile);
// Besides root (the suite is root-only): Dropbear's sandbox binds over ~/.ssh in a Linux namespace.
const ready = process.platform === 'linux' && findBusybox() !== undefined;
const SH_USER = 'sshstream-sh';
const BUSYBOX_USER = 'sshstream-busybox';
// The login users exist before the sandboxes that log in as them start.
before(async () => {
  if (!isRoot() || !ready) return;
  await ensureUser(SH_USER, 'sh');
  await ensureBusyboxUser(BUSYBOX_USER);
});

// Runs the CLI with a local file as its stdin: ssh then reads the file itself (a direct push).
async function pushFile(
  args: string[],
  input: string,
): Promise<{ done: Promise<CliResult>; child: ChildProcess }> {
  const handle = await open(input, 'r');
  const run = startCli(args, {}, handle.fd);
  return { done: run.done.finally(() => handle.close()), child: run.child };
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;

for (const name of [SH_USER, BUSYBOX_USER]) {
  describe(
    `Dropbear, login ${name}`,
    { skip: skipUnlessRoot(ready, 'needs root, Linux and busybox') },
    () => {
      const sandbox = useSandbox({ server: 'dropbear', user: name, aliases: ['r1', 'r2', 'r3'] });

      it('logs in with the expected shell and PATH', async () => {
        const { stdout } = await run(
          'ssh',
          [...sandbox.sshArgs, sandbox.current.host, 'echo "$PATH"; command -v od || echo no-od'],
          {
            timeout: 20_000,
          },
        );
        const expected = name === BUSYBOX_USER ? `${OPENWRT_BIN}\nno-od\n` : /\/od\n$/;
        if (typeof expected === 'string') assert.equal(stdout, expected);
        else assert.match(stdout, expected);
      });

      it('pushes and pulls a small inline input', async () => {
        const at = await sandbox.fresh();
        const target = `${sandbox.current.host}:${at}/small`;
        const pushed = await runCli(['push', ...sandbox.sshArgs, target], 'hello, router\n');
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.equal(await readFile(join(at, 'small'), 'utf8'), 'hello, router\n');
        const pulled = await runCli(['pull', '-q', ...sandbox.sshArgs, target]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.equal(pulled.stdout.toString(), 'hello, router\n');
        assert.deepEqual(await leftovers(at), []);
      });

      it('pushes and pulls a piped input over 16 KiB', async () => {
        const at = await sandbox.fresh();
        const data = randomBytes(300_000);
        const target = `${sandbox.current.host}:${at}/piped`;
        const pushed = await runCli(['push', ...sandbox.sshArgs, target], data);
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified\\n$`));
        assert.ok((await readFile(join(at, 'piped'))).equals(data));
        const pulled = await runCli(['pull', '-q', ...sandbox.sshArgs, target]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.ok(pulled.stdout.equals(data));
        assert.deepEqual(await leftovers(at), []);
      });

      it('pushes a large file directly (ssh reads it as stdin)', async () => {
        const at = await sandbox.fresh();
        const input = join(sandbox.current.dir, `input-${name}`);
        const data = randomBytes(64 * 1024 * 1024);
        await writeFile(input, data);
        const run = await pushFile(
          ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${at}/big`],
          input,
        );
        const pushed = await run.done;
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified\\n$`));
        assert.equal(md5(await readFile(join(at, 'big'))), md5(data));
        assert.deepEqual(await leftovers(at), []);
      });

      // BusyBox dd with seek and conv=notrunc, each range on its own Dropbear channel.
      it('pushes a resumable file in parallel ranges (--streams 4 --resume)', async () => {
        const at = await sandbox.fresh();
        const input = join(sandbox.current.dir, `ranges-${name}`);
        const data = randomBytes(5 * 1024 * 1024 + 123);
        await writeFile(input, data);
        const args = [
          'push',
          ...sandbox.sshArgs,
          '--streams',
          '4',
          '--resume',
          `${sandbox.current.host}:${at}/r`,
        ];
        const pushed = await (await pushFile(args, input)).done;
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified\\n$`));
        assert.equal(md5(await readFile(join(at, 'r'))), md5(data));
        assert.deepEqual(await leftovers(at), []);
      });

      it('overwriting a file keeps its mode', async () => {
        const at = await sandbox.fresh();
        const target = `${sandbox.current.host}:${at}/script`;
        assert.equal((await runCli(['push', ...sandbox.sshArgs, target], 'v1\n')).code, 0);
        await chmod(join(at, 'script'), 0o751);
        const pushed = await runCli(['push', ...sandbox.sshArgs, target], 'v2\n');
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.equal(await readFile(join(at, 'script'), 'utf8'), 'v2\n');
        assert.equal((await modeOf(join(at, 'script'))).toString(8), '751');
      });

      it('--compress gzip pushes and pulls', async () => {
        const at = await sandbox.fresh();
        const data = Buffer.from('compressible router log line\n'.repeat(20_000));
        const target = `${sandbox.current.host}:${at}/log`;
        const pushed = await runCli(
          ['push', '--compress', 'gzip', ...sandbox.sshArgs, target],
          data,
        );
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.ok((await readFile(join(at, 'log'))).equals(data));
        const pulled = await runCli([
          'pull',
          '-q',
          '--compress',
          'gzip',
          ...sandbox.sshArgs,
          target,
        ]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.ok(pulled.stdout.equals(data));
      });

      it('-z pushes and pulls (gzip, the only compressor OpenWrt has)', async () => {
        const at = await sandbox.fresh();
        const data = Buffer.from('router syslog: link up\n'.repeat(30_000));
        const target = `${sandbox.current.host}:${at}/z`;
        const pushed = await runCli(['push', '-z', ...sandbox.sshArgs, target], data);
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.ok((await readFile(join(at, 'z'))).equals(data));
        const local = join(at, 'z-pulled');
        const pulled = await runCli(['pull', '-z', '--json', ...sandbox.sshArgs, target, local]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.equal(JSON.parse(pulled.stdout.toString()).md5, md5(data));
        assert.ok((await readFile(local)).equals(data));
        assert.deepEqual(await leftovers(at), []);
      });

      it('an interrupted --resume push continues from what landed', async () => {
        const at = await sandbox.fresh();
        const input = join(sandbox.current.dir, `resume-${name}`);
        const data = randomBytes(6 * 1024 * 1024);
        await writeFile(input, data);
        const target = `${sandbox.current.host}:${at}/resumed`;
        const args = ['push', ...sandbox.sshArgs, '--resume'];
        const first = await pushFile([...args, '--limit-rate', '2M', target], input);
        await waitFor(async () => (await landedSize(at, 'resumed')) > 1024 * 1024, 60_000);
        first.child.kill('SIGINT');
        assert.equal((await first.done).code, 130);
        const kept = await landedSize(at, 'resumed');
        assert.ok(kept > 0 && kept < data.length, `partial of ${kept} bytes`);
        const second = await (await pushFile([...args, '--json', target], input)).done;
        assert.equal(second.code, 0, second.stderr);
        const json = JSON.parse(second.stdout.toString()) as { resumed: number; md5: string };
        assert.equal(json.resumed, kept);
        assert.equal(json.md5, md5(data));
        assert.equal(md5(await readFile(join(at, 'resumed'))), md5(data));
        assert.deepEqual(await leftovers(at), []);
      });

      it('an interrupted --resume pull continues from its local partial file', async () => {
        const at = await sandbox.fresh();
        const data = randomBytes(6 * 1024 * 1024);
        await writeFile(join(at, 'remote'), data);
        const local = join(sandbox.current.dir, `pulled-${name}`);
        const source = `${sandbox.current.host}:${at}/remote`;
        const args = ['pull', ...sandbox.sshArgs, '--resume'];
        const first = startCli([...args, '--limit-rate', '2M', source, local]);
        const partial = (): Promise<number> => landedSize(sandbox.current.dir, `pulled-${name}`);
        await waitFor(async () => (await partial()) > 1024 * 1024, 60_000);
        first.child.kill('SIGINT');
        assert.equal((await first.done).code, 130);
        const kept = await partial();
        assert.ok(kept > 0 && kept < data.length, `partial of ${kept} bytes`);
        const second = await startCli([...args, '--json', source, local]).done;
        assert.equal(second.code, 0, second.stderr);
        const json = JSON.parse(second.stdout.toString()) as { resumed: number; md5: string };
        assert.equal(json.resumed, kept);
        assert.equal(json.md5, md5(data));
        assert.equal(md5(await readFile(local)), md5(data));
        assert.equal(await partial(), 0);
      });

      it('pushes to 3 targets at once, each verified', async () => {
        const at = await sandbox.fresh();
        const data = randomBytes(2 * 1024 * 1024);
        const targets = ['r1', 'r2', 'r3'].map((alias) => `${alias}:${at}/${alias}`);
        const pushed = await runCli(['push', '--json', ...sandbox.sshArgs, ...targets], data);
        assert.equal(pushed.code, 0, pushed.stderr);
        const lines = pushed.stdout
          .toString()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { target: string; ok: boolean; md5: string });
        assert.deepEqual(
          lines.map((line) => [line.target, line.ok, line.md5]),
          targets.map((target) => [target, true, md5(data)]),
        );
        for (const alias of ['r1', 'r2', 'r3']) {
          assert.ok((await readFile(join(at, alias))).equals(data), alias);
        }
        assert.deepEqual(await leftovers(at), []);
      });

      it('a remote error arrives with its message and exits 4', async () => {
        const at = await sandbox.fresh();
        const target = `${sandbox.current.host}:${at}/missing/file`;
        const pushed = await runCli(['push', ...sandbox.sshArgs, target], 'x');
        assert.equal(pushed.code, 4, pushed.stderr);
        assert.match(pushed.stderr, /: no such directory \(use --mkdir to create it\)\n$/);
        const pulled = await runCli(['pull', ...sandbox.sshArgs, target]);
        assert.equal(pulled.code, 4, pulled.stderr);
        assert.match(pulled.stderr, /: no such file\n$/);
      });

      it('error text with a newline and non-ASCII bytes arrives intact', async () => {
        const at = await sandbox.fresh();
        await writeFile(join(at, 'blo\nné'), '');
        // mkdir -p fails under a regular file, naming it (BusyBox: raw newline and UTF-8) in its message.
        const target = `${sandbox.current.host}:${at}/blo\nné/dir/file`;
        const pushed = await runCli(['push', '--mkdir', ...sandbox.sshArgs, target], 'x');
        assert.equal(pushed.code, 4, pushed.stderr);
        assert.match(
          pushed.stderr,
          /: cannot create directory: mkdir: .*blo.*: Not a directory\n$/,
        );
      });
    },
  );
}
