import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError, createPushStream } from '../../lib/index.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { writeScript } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox({ aliases: ['h1', 'h2'] });

// The CLI with `input` on stdin, killed after `ms` (a hang then shows as signal SIGKILL).
async function runBounded(args: string[], input: string, ms = 15_000): Promise<CliResult> {
  const run = startCli(args);
  run.child.stdin!.end(input);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

// An ssh wrapper that leaves a mark when it runs: validation must refuse before any ssh starts.
async function markingSsh(dir: string): Promise<{ ssh: string; ran: () => Promise<boolean> }> {
  const mark = join(dir, 'ssh-ran');
  const ssh = await writeScript(dir, 'marking-ssh', `touch ${mark}\nexec ssh "$@"\n`);
  const ran = () =>
    access(mark).then(
      () => true,
      () => false,
    );
  return { ssh, ran };
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

describe('every target is checked before any connects', () => {
  const cases: Array<[string, (dir: string) => string[] | Promise<string[]>, RegExp]> = [
    ['a local file name after a target', (dir) => [`h1:${dir}/dest`, 'file.txt'], /file\.txt/],
    ['"-" after a target', (dir) => [`h1:${dir}/dest`, '-'], /push -: expected/],
    [
      'a host beginning with "-" after a target',
      // "--" first ends the options; after a target it would start a COMMAND to push from.
      (dir) => ['--', `h1:${dir}/dest`, '-oProxyCommand=x:y'],
      /refused host/,
    ],
    ['an empty target after a target', (dir) => [`h1:${dir}/dest`, ''], /expected/],
    [
      'a bad line in --targets',
      async (dir) => {
        const list = join(dir, 'hosts.txt');
        await writeFile(list, `h1:${dir}/dest\nh2:${dir}/dest2\nnot-a-target\n`);
        return ['--targets', list];
      },
      /not-a-target/,
    ],
  ];
  for (const [name, argsOf, cause] of cases) {
    it(`${name}: exit 1 at once, one line, no ssh started, destination untouched`, async () => {
      const dir = await sandbox.fresh();
      await writeFile(join(dir, 'dest'), 'old');
      const { ssh, ran } = await markingSsh(dir);
      const args = await argsOf(dir);
      const result = await runBounded(
        ['push', ...sandbox.sshArgs, '--ssh', ssh, ...args],
        'new data',
      );
      assert.equal(result.signal, null, `hung: ${result.stderr}`);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(lines(result.stderr).length, 1, result.stderr);
      assert.match(result.stderr, /^sshstream: push\b/);
      assert.match(result.stderr, cause);
      assert.equal(await ran(), false, 'ssh was started');
      assert.equal(await readFile(join(dir, 'dest'), 'utf8'), 'old');
    });
  }

  it('the library: createPushStream([good, bad]) throws UsageError synchronously, no ssh started', async () => {
    const dir = await sandbox.fresh();
    const { ssh, ran } = await markingSsh(dir);
    const options = { config: sandbox.current.configPath, sshCommand: ssh };
    for (const bad of ['file.txt', '-', '-evil:x', '', 'h2:']) {
      assert.throws(
        () => createPushStream([`h1:${dir}/a`, `h2:${dir}/b`, bad], options),
        (error: unknown) => error instanceof UsageError && error.exitCode === 1,
        bad,
      );
      // beyond --max-parallel too
      assert.throws(
        () => createPushStream([`h1:${dir}/a`, bad], { ...options, maxParallel: 1 }),
        UsageError,
      );
    }
    assert.throws(
      () => createPushStream([`h1:${dir}/a`, 42 as unknown as string], options),
      UsageError,
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // a leaked stream would start ssh now
    assert.equal(await ran(), false, 'ssh was started');
  });
});

describe('--targets FILE is bounded', () => {
  it('/dev/zero: exit 1 with one line, before reading more than 1 MiB', async () => {
    const result = await runBounded(['push', '--targets', '/dev/zero'], '');
    assert.equal(result.code, 1, result.stderr);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, /^sshstream: push: --targets "\/dev\/zero": larger than 1 MiB/);
  });

  it('a file of valid lines larger than 1 MiB is refused, not half read', async () => {
    const dir = await sandbox.fresh();
    const list = join(dir, 'many.txt');
    await writeFile(list, `h1:${dir}/x\n`.repeat(Math.ceil((1 << 20) / dir.length)));
    const result = await runBounded(['push', ...sandbox.sshArgs, '--targets', list], 'data');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /larger than 1 MiB/);
  });

  it('a line longer than 4096 characters: exit 1 naming the line', async () => {
    const dir = await sandbox.fresh();
    const list = join(dir, 'long.txt');
    await writeFile(list, `h1:${dir}/x\nh2:${'y'.repeat(5000)}\n`);
    const result = await runBounded(['push', ...sandbox.sshArgs, '--targets', list], 'data');
    assert.equal(result.code, 1, result.stderr);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, /line 2 is longer than 4096 characters/);
  });

  it('a directory: exit 1 with one line naming it', async () => {
    const dir = await sandbox.fresh();
    const result = await runBounded(['push', '--targets', dir], 'data');
    assert.equal(result.code, 1, result.stderr);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, /--targets .*cannot read: EISDIR/);
  });
});

describe('a fan-out failing on many targets', () => {
  it('ends with one bounded line: the first causes and "and N more"', async () => {
    const dir = await sandbox.fresh();
    const list = join(dir, 'hosts.txt');
    const count = 40;
    const targets = Array.from({ length: count }, (_, i) => `h${(i % 2) + 1}:${dir}/no/f${i}`);
    await writeFile(list, targets.join('\n'));
    // Refused connections (fast): what 10,000 unreachable hosts would give, on a smaller scale.
    const refused = await writeScript(
      dir,
      'refusing-ssh',
      'echo "ssh: connect to host $4 port 22: Connection refused" >&2\nexit 255\n',
    );
    const result = await runBounded(
      ['push', '--ssh', refused, '-q', '--targets', list],
      'data',
      60_000,
    );
    assert.equal(result.code, 2, result.stderr);
    const last = lines(result.stderr);
    assert.equal(last.length, 1, result.stderr);
    assert.match(last[0]!, /^sshstream: push: 40 of 40 targets failed: push h1:.*; and 37 more$/);
    assert.ok(last[0]!.length < 1000, `${last[0]!.length} characters`);
  });
});
