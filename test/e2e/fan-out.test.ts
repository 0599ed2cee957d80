import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { FanOutError, createPushStream } from '../../lib/index.js';
import { runCli } from '../helpers/cli.js';
import { leftovers, md5, writeCorruptingSsh } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { rootOnly } from '../helpers/prerequisites.js';

const run = promisify(execFile);

const ALIASES = ['h1', 'h2', 'h3', 'h4'];
const sandbox = useSandbox({ aliases: ALIASES });

// An ssh wrapper that logs when each connection (ControlMaster=yes) starts and ends, and can
// hold back one alias's data session, as a slow host would.
async function loggingSsh(dir: string, slowAlias = ''): Promise<string> {
  const path = join(dir, 'logging-ssh');
  await writeFile(
    path,
    `#!/bin/bash
log=${join(dir, 'connections.log')}
case "$*" in
  *ControlMaster=yes*) echo "start $$" >> "$log"; ssh "$@"; s=$?; echo "end $$" >> "$log"; exit $s ;;
  *ControlMaster=no*" ${slowAlias} "*) touch "$log.slow"; sleep 1.5; exec ssh "$@" ;;
  *) exec ssh "$@" ;;
esac
`,
    { mode: 0o755 },
  );
  return path;
}

function maxConcurrent(log: string): number {
  let open = 0;
  let most = 0;
  for (const line of log.trim().split('\n')) {
    open += line.startsWith('start') ? 1 : -1;
    most = Math.max(most, open);
  }
  return most;
}

describe('push to several targets (real sshd, several aliases)', () => {
  it('one failing target: the others are verified, exit 6, a per-target report', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(3 * 1024 * 1024);
    const targets = [`h1:${dir}/a`, `h2:${dir}/missing/b`, `h3:${dir}/c`];
    const result = await runCli(['push', ...sandbox.sshArgs, '--json', ...targets], data);
    assert.equal(result.code, 6, result.stderr);
    const lines = result.stdout
      .toString()
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            target: string;
            ok: boolean;
            md5?: string;
            exitCode?: number;
            error?: string;
          },
      );
    assert.deepEqual(
      lines.map((line) => [line.target, line.ok]),
      [
        [targets[0], true],
        [targets[1], false],
        [targets[2], true],
      ],
    );
    assert.equal(lines[0]!.md5, md5(data));
    assert.equal(lines[1]!.exitCode, 4);
    assert.match(lines[1]!.error!, /no such directory/);
    assert.equal(md5(await readFile(join(dir, 'a'))), md5(data));
    assert.equal(md5(await readFile(join(dir, 'c'))), md5(data));
    assert.match(result.stderr, /target +bytes +time +rate +result/);
    assert.match(result.stderr, /h2:.*error \(exit 4\): no such directory/);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('each target is verified against the input hash: bytes corrupted on the way to one fail it alone', async () => {
    const dir = await sandbox.fresh();
    const wrapper = await writeCorruptingSsh(dir, '*ControlMaster=no*" h2 "*');
    const data = Buffer.from('banana '.repeat(10_000));
    const targets = [`h1:${dir}/one`, `h2:${dir}/two`, `h3:${dir}/three`];
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '--ssh', wrapper, '--json', ...targets],
      data,
    );
    assert.equal(result.code, 6, result.stderr);
    const lines = result.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { ok: boolean; exitCode?: number });
    assert.deepEqual(
      lines.map((line) => [line.ok, line.exitCode]),
      [
        [true, undefined],
        [false, 3],
        [true, undefined],
      ],
    );
    assert.deepEqual(await readFile(join(dir, 'one')), data);
    assert.deepEqual(await readFile(join(dir, 'three')), data);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('two') || name.includes('sshstream')),
      [],
    );
  });

  it('all targets failing alike exit with their common code', async () => {
    const dir = await sandbox.fresh();
    const result = await runCli(
      ['push', ...sandbox.sshArgs, `h1:${dir}/x/a`, `h2:${dir}/y/b`],
      'data',
    );
    assert.equal(result.code, 4);
  });

  it('a stalling target slows the others but corrupts nothing', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(4 * 1024 * 1024);
    const ssh = await loggingSsh(dir, 'h2');
    const result = await runCli(
      ['push', ...sandbox.sshArgs, '--ssh', ssh, ...ALIASES.map((h) => `${h}:${dir}/${h}`)],
      data,
    );
    assert.equal(result.code, 0, result.stderr);
    await readFile(join(dir, 'connections.log.slow')); // the stall really happened
    for (const alias of ALIASES)
      assert.equal(md5(await readFile(join(dir, alias))), md5(data), alias);
  });

  // Plain, ssh reads the local copy itself; compressed, it is read once per group of targets.
  for (const compress of [[], ['-z']]) {
    it(`--max-parallel caps concurrent connections; queued targets get the same bytes${compress.length > 0 ? ' (-z)' : ''}`, async () => {
      const dir = await sandbox.fresh();
      const data = randomBytes(2 * 1024 * 1024);
      const ssh = await loggingSsh(dir);
      const targets = ALIASES.map((h) => `${h}:${dir}/${h}`);
      const result = await runCli(
        ['push', ...sandbox.sshArgs, ...compress, '--ssh', ssh, '--max-parallel', '2', ...targets],
        data,
      );
      assert.equal(result.code, 0, result.stderr);
      const log = await readFile(join(dir, 'connections.log'), 'utf8');
      assert.equal(log.trim().split('\n').length, 8);
      assert.ok(maxConcurrent(log) <= 2, log);
      for (const alias of ALIASES)
        assert.equal(md5(await readFile(join(dir, alias))), md5(data), alias);
    });
  }

  it('--targets FILE adds targets, one per line', async () => {
    const dir = await sandbox.fresh();
    const list = join(dir, 'hosts.txt');
    await writeFile(list, `# deploy\nh1:${dir}/one\n\nh2:${dir}/two\n`);
    const result = await runCli(['push', ...sandbox.sshArgs, '--targets', list], 'payload');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(dir, 'one'), 'utf8'), 'payload');
    assert.equal(await readFile(join(dir, 'two'), 'utf8'), 'payload');
  });

  it('the library resolves one outcome per target and rejects with FanOutError when some fail', async () => {
    const dir = await sandbox.fresh();
    const stream = createPushStream([`h1:${dir}/ok`, `h2:${dir}/nope/x`], {
      config: sandbox.current.configPath,
    });
    await assert.rejects(
      pipeline(Readable.from([Buffer.from('hello')]), stream),
      (error: unknown) => {
        assert.ok(error instanceof FanOutError);
        assert.equal(error.exitCode, 6);
        return true;
      },
    );
    const outcomes = await stream.result;
    assert.equal(outcomes.length, 2);
    assert.equal(outcomes[0]!.ok, true);
    assert.equal(outcomes[1]!.ok, false);
    assert.equal(await readFile(join(dir, 'ok'), 'utf8'), 'hello');
  });

  it('$TMPDIR full while spooling for queued targets: those fail with exit 5 naming the cause, the others are verified, no spool left', async (t) => {
    if (!rootOnly(t)) return;
    const dir = await sandbox.fresh();
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', tmp]);
    try {
      const data = randomBytes(4 * 1024 * 1024);
      const targets = ALIASES.map((h) => `${h}:${dir}/${h}`);
      const result = await runCli(
        ['push', ...sandbox.sshArgs, '--json', '--max-parallel', '2', ...targets],
        data,
        { TMPDIR: tmp },
      );
      assert.equal(result.code, 6, result.stderr);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      const lines = result.stdout
        .toString()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { ok: boolean; exitCode?: number; error?: string });
      assert.deepEqual(
        lines.map((line) => [line.ok, line.exitCode]),
        [
          [true, undefined],
          [true, undefined],
          [false, 5],
          [false, 5],
        ],
      );
      assert.match(lines[2]!.error!, /local copy of the input.*no space left on device/i);
      assert.equal(md5(await readFile(join(dir, 'h1'))), md5(data));
      assert.equal(md5(await readFile(join(dir, 'h2'))), md5(data));
      assert.deepEqual(
        (await readdir(tmp)).filter((name) => name.startsWith('sshstream-spool-')),
        [],
      );
    } finally {
      await run('umount', [tmp]);
    }
  });
});
