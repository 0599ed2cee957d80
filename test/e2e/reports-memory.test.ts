// Remote stderr without newlines must not grow our memory: the ReportReader keeps the end of
// an unterminated line (a report may follow the noise on the same line) and drops the middle.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pull } from '../../lib/index.js';
import { ReportReader } from '../../lib/remote/reports.js';
import { buildSshInvocation, spawnSsh } from '../../lib/ssh/command.js';
import { md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { sink } from '../helpers/streams.js';
import { useBashUser } from '../helpers/shell-users.js';

const sandbox = useSandbox();
const ssh = () => ({ config: sandbox.current.configPath });
const TAG = 'SSHSTREAM-0123456789abcdef';
const BOUND = 160 * 1024;

describe('ReportReader memory', () => {
  it('holds a bounded amount of 2 MiB of remote stderr without a newline', async () => {
    const invocation = buildSshInvocation(
      { host: sandbox.current.host },
      ssh(),
      [],
      `head -c 2097152 /dev/zero | tr '\\0' x >&2; printf '${TAG} sum 1 ab\\n' >&2`,
    );
    const child = spawnSsh(invocation, { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
    const reader = new ReportReader(TAG, child.stderr);
    let seen = 0;
    let most = 0;
    // Registered after the reader's own listener: sees its state after every chunk.
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      most = Math.max(most, reader.retained);
    });
    const exit = await child;
    await reader.ended;
    assert.equal(exit.exitCode, 0);
    assert.ok(seen > 2 * 1024 * 1024, `saw only ${seen} bytes`);
    assert.ok(most <= BOUND, `held ${most} characters of stderr`);
    assert.deepEqual(reader.reports, [{ word: 'sum', fields: ['1', 'ab'] }]);
    assert.ok(reader.lastLine.length <= 4096, `a ${reader.lastLine.length}-character message`);
  });

  it('bounds an unterminated last line and the message quoting it', async () => {
    const invocation = buildSshInvocation(
      { host: sandbox.current.host },
      ssh(),
      [],
      `head -c 1048576 /dev/zero | tr '\\0' y >&2; exit 3`,
    );
    const child = spawnSsh(invocation, { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
    const reader = new ReportReader(TAG, child.stderr);
    await child;
    await reader.ended;
    assert.ok(reader.retained <= BOUND, `held ${reader.retained} characters`);
    assert.match(reader.lastLine, /^\[\.\.\.\]y+$/);
    assert.ok(reader.lastLine.length <= 4096, `a ${reader.lastLine.length}-character message`);
  });
});

describe('a pull through a login shell printing 1 MiB on stderr without a newline', () => {
  const noisy = useBashUser(
    'sshstream-noisy-stderr',
    "head -c 1048576 /dev/zero | tr '\\0' x >&2\n",
  );

  it('still finds the report after the noise and verifies', async (t) => {
    const user = noisy.loginAs(t);
    if (!user) return;
    const dir = join(sandbox.current.scratch, 'reports-memory');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'src'), 'hello\n', { mode: 0o644 });
    const out = sink();
    const result = await pull(`${user.name}@${sandbox.current.host}:${dir}/src`, out, ssh());
    assert.equal(out.data().toString(), 'hello\n');
    assert.equal(result.digest, md5('hello\n'));
  });
});
