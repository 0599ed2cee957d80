// A push called off while its data session starts: the control script removes the temporary
// file and its hash (.sum) on EOF, and the data session's hash stage, forked a moment later,
// may write the .sum again. Seen once in CI after a SIGKILL of sshstream: `.precious.sshstream-
// ….tmp.sum` left for good. The data session, ending with its temporary file gone, must take
// the .sum with it. A stand-in `cat` (the reader of an uncompressed push) removes the file as
// the control script would, under each shell that can be a server's /bin/sh.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findExecutable } from '../../transforms/which.js';
import { SCRIPT_SHELLS, useScriptRunner } from '../helpers/script-runner.js';

describe('a data session whose temporary file is removed under it', () => {
  const { dir, run } = useScriptRunner('sshstream-called-off-');

  for (const shell of SCRIPT_SHELLS) {
    it(`leaves no .sum behind (sh is ${shell})`, async () => {
      const target = join(dir(), `out-${shell}`);
      const tmp = join(dir(), `.out-${shell}.sshstream-T.tmp`);
      await writeFile(tmp, '', { mode: 0o600 });
      const standIns = { cat: `rm -f '${tmp}'\nexec '${findExecutable('cat')!}' "$@"\n` };
      const tools = [
        'dd',
        'md5sum',
        'stat',
        'rm',
        'sed',
        'sort',
        'head',
        'sync',
        'sleep',
        'ls',
        'awk',
        'cut',
        'tr',
        'od',
      ];
      const result = await run(
        shell,
        tools,
        ['push-data', target, '', '0', 'md5'],
        'data\n',
        standIns,
      );
      assert.notEqual(result.status, 0, 'the push cannot have landed');
      const left = (await readdir(dir())).filter((name) => name.startsWith(`.out-${shell}.`));
      assert.deepEqual(left, [], result.stderr);
    });
  }
});
