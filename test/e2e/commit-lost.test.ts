// The connection lost after the remote rename but before the "committed" report reaches us: the
// file is in place, yet sshstream cannot know it. A `sync` first on the session's PATH stands in
// for the one that fsyncs the destination's directory (its last argument) right after the
// rename: when a marker file is there, it removes the marker (so it acts once) and SIGKILLs the
// sshd process of its own connection, which is then cut for real, as a dropped link would cut it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findExecutable } from '../../transforms/which.js';
import { runCli, startCli } from '../helpers/cli.js';
import { exists, leftovers, md5, waitFor } from '../helpers/files.js';
import { sessionPath, useShSandbox, useToolDir } from '../helpers/sandbox.js';

const MARKER = 'cut-after-rename';

const bin = useToolDir(
  'sshstream-cutting-sync-',
  'sync',
  `#!/bin/sh
for last do :; done
if [ "$1" = -- ] && [ -d "$last" ] && [ -f "$last/${MARKER}" ] && rm -f -- "$last/${MARKER}"; then
  pid=$$
  while [ "$pid" -gt 1 ]; do
    pid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status")
    case $(cat "/proc/$pid/comm") in sshd*) kill -9 "$pid"; exit 0 ;; esac
  done
fi
exec ${findExecutable('sync') ?? '/bin/sync'} "$@"
`,
);

const sandbox = useShSandbox({ sshdConfig: [sessionPath(bin)] });

// A directory holding an old `out` and the marker: the next commit into it loses its report.
async function armed(): Promise<string> {
  const dir = await sandbox.fresh();
  await writeFile(join(dir, 'out'), 'original');
  await writeFile(join(dir, MARKER), '');
  return dir;
}

describe('connection lost between the rename and the report (real sshd)', () => {
  it('exit 2, "may have been committed"; the file is committed intact, nothing left behind', async () => {
    const dir = await armed();
    const data = randomBytes(3 << 20);
    const result = await runCli(
      ['push', ...sandbox.sshArgs, `${sandbox.current.host}:${dir}/out`],
      data,
    );
    assert.equal(result.code, 2, result.stderr);
    assert.equal(await exists(join(dir, MARKER)), false, 'the cut happened');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^sshstream: push .*out.*the file may have been committed/);
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    await waitFor(async () => (await leftovers(dir)).length === 0, 5000).catch(async () =>
      assert.fail(`left: ${(await leftovers(dir)).join(', ')}`),
    );
  });

  it('with --retries: the retry pushes again and verifies, exit 0', async () => {
    const dir = await armed();
    const data = randomBytes(3 << 20);
    const input = join(dir, 'input');
    await writeFile(input, data);
    const handle = await open(input, 'r');
    try {
      const args = [
        'push',
        ...sandbox.sshArgs,
        '--retries',
        '2',
        `${sandbox.current.host}:${dir}/out`,
      ];
      const { code, stderr } = await startCli(args, {}, handle.fd).done;
      assert.equal(code, 0, stderr);
      assert.equal(await exists(join(dir, MARKER)), false, 'the cut happened');
      assert.match(stderr, /the file may have been committed .*; retry 1 of 2/);
      assert.match(stderr, /verified/);
    } finally {
      await handle.close();
    }
    assert.equal(md5(await readFile(join(dir, 'out'))), md5(data));
    await waitFor(async () => (await leftovers(dir)).length === 0, 5000).catch(async () =>
      assert.fail(`left: ${(await leftovers(dir)).join(', ')}`),
    );
  });
});
