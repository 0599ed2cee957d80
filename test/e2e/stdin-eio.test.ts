// A stdin that fails with EIO partway (a failing disk; here a FUSE file whose reads fail after
// the first 256 KiB, a real EIO from the kernel) is a local I/O error: exit 5, one line naming
// the cause, nothing committed, nothing left on the remote side. Through node, read by ssh
// itself (64 MiB and up), in ranges (each range's session then gets its end at once, not a
// wait for the rest), and for a fan-out.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { startCli } from '../helpers/cli.js';
import { mountEioFile } from '../helpers/eio-file.js';
import { leftovers, waitFor } from '../helpers/files.js';
import { ensureUser, userDir, type TestUser } from '../helpers/users.js';
import { isRoot, rootOnly } from '../helpers/prerequisites.js';

const GOOD = 256 << 10;

let sandbox: Sandbox | undefined;
let user: TestUser | undefined;
const local = mkdtempSync(join(tmpdir(), 'sshstream-stdin-eio-'));
before(async () => {
  if (!isRoot()) return;
  user = await ensureUser('sshstream-sh', 'sh');
  sandbox = await startSandbox({ user: user.name });
});
after(async () => {
  await sandbox?.stop();
  rmSync(local, { recursive: true, force: true });
});
let n = 0;

describe('stdin failing with EIO (FUSE file, real sshd)', () => {
  const cases = [
    { what: 'a 1 MiB file, read through node', size: 1 << 20, targets: 1, args: [] },
    { what: 'a 64 MiB file, read by ssh itself', size: 64 << 20, targets: 1, args: [] },
    { what: 'a 4 MiB file in 2 ranges', size: 4 << 20, targets: 1, args: ['--streams', '2'] },
    { what: 'a fan-out to 2 targets', size: 1 << 20, targets: 2, args: [] },
  ];
  for (const { what, size, targets, args } of cases) {
    it(`${what}: exit 5 naming EIO, the destinations untouched, nothing left`, async (t) => {
      if (!rootOnly(t)) return;
      const dir = await userDir(sandbox!.scratch, `stdin-eio-${n++}`, user);
      const outs = Array.from({ length: targets }, (_, i) => join(dir, `out-${i}`));
      for (const out of outs) await writeFile(out, 'original');
      const eio = await mountEioFile(local, size, GOOD);
      try {
        const stdin = await open(eio.path, 'r');
        const run = startCli(
          [
            'push',
            ...args,
            '-F',
            sandbox!.configPath,
            ...outs.map((out) => `${sandbox!.host}:${out}`),
          ],
          {},
          stdin.fd,
        );
        const guard = setTimeout(() => run.child.kill('SIGKILL'), 120_000);
        const result = await run.done.finally(() => clearTimeout(guard));
        await stdin.close();
        assert.equal(result.code, 5, result.stderr);
        const lines = result.stderr.trim().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0]!, /^sshstream: push.*: cannot read input: EIO/);
        if (targets === 1) assert.ok(lines[0]!.includes(`${sandbox!.host}:${outs[0]}`), lines[0]);
        for (const out of outs) assert.equal(await readFile(out, 'utf8'), 'original');
        await waitFor(async () => (await leftovers(dir)).length === 0, 15_000).catch(async () =>
          assert.fail(`left: ${(await leftovers(dir)).join(', ')}`),
        );
      } finally {
        await eio.stop();
      }
    });
  }
});
