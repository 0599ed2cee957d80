// A pull into a local FILE writes its bytes back to disk while they land, every second, so the
// commit's fsync has little left at the end (1 GiB in one stream: 0.7 s of it here). A `dd`
// first on the session's PATH stands in for a slow disk: it reads a range 1 MiB at a time,
// 0.5 s apart, so 8 MiB land over 4 s (2 s in two ranges). strace -y names the file behind
// each descriptor: the local temporary file is fsynced before the last write into it (ssh's,
// or node's in one stream through node).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findExecutable } from '../../transforms/which.js';
import { md5 } from '../helpers/files.js';
import { sessionPath, useShSandbox, useToolDir } from '../helpers/sandbox.js';
import { assertFlushedBeforeLast, runCliTraced } from '../helpers/traced-cli.js';

const bin = useToolDir(
  'sshstream-slow-dd-',
  'dd',
  `#!/bin/sh
real=${findExecutable('dd') ?? '/bin/dd'}
f= s= c=
for a do case $a in if=*) f=\${a#if=} ;; skip=*) s=\${a#skip=} ;; count=*) c=\${a#count=} ;; esac; done
[ -n "$f" ] && [ -n "$s" ] && [ -n "$c" ] || exec "$real" "$@"
# No further than the file's last MiB.
n=$((($(wc -c < "$f") + 1048575) / 1048576 - s))
[ "$n" -lt "$c" ] && c=$n
i=0
while [ "$i" -lt "$c" ]; do
  "$real" if="$f" bs=1048576 skip=$((s + i)) count=1 2>/dev/null || exit
  i=$((i + 1))
  sleep 0.5
done
`,
);

const sandbox = useShSandbox({ sshdConfig: [sessionPath(bin)] });

describe('pull into a local FILE: written back while it lands', () => {
  // auto: ssh writes the file (one range); 2: two ranges; 1: node writes it.
  for (const streams of ['auto', '2', '1']) {
    it(`--streams ${streams}: an fsync of the temporary file comes before its last write`, async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(8 << 20);
      await writeFile(join(dir, 'remote'), data);
      const local = join(dir, 'local');
      const trace = join(dir, 'trace');
      const args = ['pull', ...sandbox.sshArgs, '--streams', streams];
      const result = await runCliTraced(
        [...args, `${sandbox.current.host}:${dir}/remote`, local],
        '022',
        { file: trace, calls: ['-y', '-e', 'trace=fsync,write,pwrite64'] },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(local)), md5(data));
      const temporary = /\/\.local\.sshstream-[^/]*\.tmp$/;
      assertFlushedBeforeLast(await readFile(trace, 'utf8'), temporary, 'p?write(?:64)?');
    });
  }
});
