// A login whose shell is BusyBox sh and whose PATH holds only OpenWrt's default applets (no od,
// stat, cksum, sha1sum, timeout), over the OpenSSH sandbox: what the remote script must do
// without those tools. Dropbear with the same user: dropbear.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureBusyboxUser, findBusybox } from '../helpers/busybox.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { md5, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import type { TestUser } from '../helpers/users.js';
import { skipUnlessRoot } from '../helpers/prerequisites.js';

const ready = findBusybox() !== undefined;
// Runs the CLI with a local file as its stdin (resume needs a re-readable input).
async function pushFile(args: string[], input: string): Promise<{ done: Promise<CliResult> }> {
  const handle = await open(input, 'r');
  const run = startCli(args, {}, handle.fd);
  return { done: run.done.finally(() => handle.close()) };
}

describe(
  'BusyBox login with the OpenWrt applet set',
  { skip: skipUnlessRoot(ready, 'needs root and busybox') },
  () => {
    const sandbox = useSandbox();
    let user: TestUser;
    before(async () => {
      user = await ensureBusyboxUser();
    });
    const at = (path: string): string => `${user.name}@${sandbox.current.host}:${path}`;

    it('two interrupted --resume pushes to different names over 200 bytes keep apart', async () => {
      const home = await sandbox.fresh(user);
      const input = join(sandbox.current.dir, 'resume-input');
      const other = join(sandbox.current.dir, 'resume-other');
      const data = randomBytes(2 * 1024 * 1024);
      await writeFile(input, data);
      await writeFile(other, randomBytes(data.length));
      const partials = async (): Promise<string[]> =>
        (await readdir(home)).filter((file) => file.endsWith('.sshstream-partial'));
      const interrupted = async (file: string, from: string): Promise<void> => {
        const handle = await open(from, 'r');
        const pushing = startCli(
          ['push', ...sandbox.sshArgs, '--resume', '--limit-rate', '256K', at(`${home}/${file}`)],
          {},
          handle.fd,
        );
        await waitFor(async () => {
          for (const entry of await readdir(home)) {
            if (!entry.endsWith('.partial')) continue;
            const size = (await stat(join(home, entry)).catch(() => undefined))?.size ?? 0;
            if (size > 65536) return true;
          }
          return false;
        }, 20_000);
        pushing.child.kill('SIGINT');
        assert.equal((await pushing.done).code, 130);
        await handle.close();
      };
      const first = 'a'.repeat(210);
      await interrupted(first, input);
      const kept = await partials();
      assert.equal(kept.length, 1);
      const keptSize = (await stat(join(home, kept[0]!))).size;
      // Another long name must neither take nor replace the first one's partial file.
      await interrupted('b'.repeat(210), other);
      assert.equal((await partials()).length, 2, (await partials()).join(', '));
      const resumed = await pushFile(
        ['push', ...sandbox.sshArgs, '--resume', '--json', at(`${home}/${first}`)],
        input,
      );
      const result = await resumed.done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout.toString()) as { resumed: number }).resumed, keptSize);
      assert.equal(md5(await readFile(join(home, first))), md5(data));
    });
  },
);
