// A commit that reads the file again (an inline, parallel or resumed push) hashes it while its
// bytes go to the disk, not before: a parallel push's commit of 1 GiB here took the hash's
// 1.8 s and then the fsync's 0.8 s. Stand-ins show the order: the hash tool starts only once
// a flush of the temporary file has begun (or gives up waiting after 5 s, and says so), under
// each shell that can be a server's /bin/sh.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodePrintfFormat } from '../../lib/remote/script.js';
import { findExecutable } from '../../transforms/which.js';
import { SCRIPT_SHELLS, useScriptRunner } from '../helpers/script-runner.js';

describe('the commit flushes the file while it hashes it', () => {
  const { dir, run } = useScriptRunner('sshstream-flush-');

  for (const shell of SCRIPT_SHELLS) {
    it(`sh is ${shell}`, async () => {
      const target = join(dir(), `out-${shell}`);
      const log = join(dir(), `log-${shell}`);
      const data = Buffer.from('a small push\n');
      const digest = createHash('md5').update(data).digest('hex');
      const lines = `put ${data.length} ${encodePrintfFormat(data)}\ncommit ${data.length} ${digest}\n`;
      const standIns = {
        // Logs each flush; one of a temporary file lets the hash start.
        sync:
          `echo "sync $*" >> '${log}'\n` +
          `case "$*" in *.tmp) : > '${log}.flushing' ;; esac\n` +
          `exec '${findExecutable('sync')!}' "$@"\n`,
        md5sum:
          `i=0; until [ -e '${log}.flushing' ]; do\n` +
          `  i=$((i + 1)); [ "$i" -le 50 ] || { echo waited-out >> '${log}'; break; }; sleep 0.1\n` +
          `done\n` +
          `echo hash >> '${log}'\n` +
          `exec '${findExecutable('md5sum')!}' "$@"\n`,
      };
      const result = await run(
        shell,
        ['sed', 'chmod', 'mv', 'rm', 'sleep'],
        ['push-control', target, '0', 'md5', '', '', '0', '0'],
        lines,
        standIns,
      );
      assert.match(
        result.stdout.toString(),
        new RegExp(`^T committed 13 ${digest}$`, 'm'),
        result.stderr,
      );
      assert.deepEqual(await readFile(target), data);
      const steps = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
      assert.ok(
        !steps.includes('waited-out'),
        `the hash waited for the flush:\n${steps.join('\n')}`,
      );
      // After the rename: the file again (its mode was set after the first flush) and its directory.
      assert.equal(steps.at(-1), `sync -- ${target} ${dir()}`, steps.join('\n'));
    });
  }
});
