// A regular file pushed with --streams N travels in ranges, each on its own session over the
// one connection (lib/push/ranges.ts, remote push_range), into one temporary file that the
// commit verifies whole. Real sshd; an ssh wrapper logs (and, to fail a range, stops) sessions.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { push } from '../../lib/push/push-with-retries.js';
import { encodeArgument } from '../../lib/remote/script.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { leftovers, md5, waitFor, writeScript } from '../helpers/files.js';
import { remoteProcesses } from '../helpers/processes.js';
import { useSandbox } from '../helpers/sandbox.js';

const MiB = 1 << 20;
// A long link on loopback: the benchmark's delay proxy, as ssh's ProxyCommand.
const DELAY_PROXY = fileURLToPath(new URL('../../bench/delay-proxy.js', import.meta.url));
const sandbox = useSandbox();
let n = 0;
const fresh = async (): Promise<string> => {
  const dir = join(sandbox.current.scratch, `ranges-${n++}`);
  await mkdir(dir);
  return dir;
};

// How a range session shows in ssh's argv: its operation, octal-encoded like every argument.
const RANGE_OP = encodeArgument('push-range');
// The range's offset is the last argument of the remote command, hence of ssh's argv.
const rangeAt = (offset: number) => `*"${RANGE_OP} "*" ${encodeArgument(String(offset))}"`;

/**
 * An ssh wrapper that logs each range session ("range" lines, "done" once it has exited) to
 * `dir/ssh.log`. The session of the range at `failAt`, while `dir/fail` exists, first waits
 * until `waitFor` other ranges have finished, then removes `dir/fail` and exits 255 without
 * running: a connection dropped under that one channel.
 */
function loggingSsh(dir: string, failAt = -1, waitFor = 0): Promise<string> {
  const log = join(dir, 'ssh.log');
  const flag = join(dir, 'fail');
  return writeScript(
    dir,
    'ssh',
    `case "$*" in
  ${rangeAt(failAt)})
    if [ -e '${flag}' ]; then
      i=0
      while [ "$(grep -c '^done' '${log}' 2>/dev/null)" -lt ${waitFor} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
      rm -f '${flag}'; echo failed >> '${log}'; exit 255
    fi ;;
esac
case "$*" in *"${RANGE_OP} "*) echo range >> '${log}'; ssh "$@"; r=$?; echo done >> '${log}'; exit $r ;; esac
exec ssh "$@"
`,
  );
}

// Starts the CLI with `input` as its stdin (a regular file, as with `< input`).
async function startPush(input: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const handle = await open(input, 'r');
  const run = startCli(['push', '-F', sandbox.current.configPath, ...args], env, handle.fd);
  return { ...run, done: run.done.finally(() => handle.close()) };
}
const pushFile = async (input: string, args: string[]): Promise<CliResult> =>
  (await startPush(input, args)).done;

// The remote range sessions writing to `path` now: the scripts, not their forks.
function rangeSessions(path: string): number {
  const where = encodeArgument(path);
  const found = remoteProcesses(
    sandbox.current,
    (argv) => argv.includes(RANGE_OP) && argv.includes(where),
  );
  const pids = new Set(found.map((info) => info.pid));
  return found.filter((info) => !pids.has(info.ppid)).length;
}

const logLines = async (dir: string, word: string): Promise<number> =>
  (await readFile(join(dir, 'ssh.log'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((line) => line === word).length;

describe('push --streams: a file in parallel ranges (real sshd)', () => {
  // Sizes, and the range sessions each takes: up to 1 MiB is one range, which ssh sends by
  // itself (a direct push); above, ranges of whole MiB, an even share for each channel.
  const cases: [number, number][] = [
    [0, 0],
    [1, 0],
    [MiB - 1, 0],
    [MiB + 1, 2],
    [5 * MiB + 123, 3],
  ];
  for (const [size, expected] of cases) {
    it(`lands ${size} bytes byte-identical and verified with --streams 4`, async () => {
      const dir = await fresh();
      const data = randomBytes(size);
      await writeFile(join(dir, 'input'), data);
      const ssh = await loggingSsh(dir);
      const result = await pushFile(join(dir, 'input'), [
        '--streams',
        '4',
        '--ssh',
        ssh,
        '--json',
        `${sandbox.current.host}:${dir}/out`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const json = JSON.parse(result.stdout.toString()) as { bytes: number; digest: string };
      assert.equal(json.bytes, size);
      assert.equal(json.digest, md5(data));
      assert.ok((await readFile(join(dir, 'out'))).equals(data));
      assert.equal(await logLines(dir, 'range'), expected, 'range sessions');
      assert.deepEqual(await leftovers(dir), []);
    });
  }

  it('a range that fails fails the push: exit 2, destination untouched, nothing left', async () => {
    const dir = await fresh();
    const data = randomBytes(6 * MiB);
    await writeFile(join(dir, 'input'), data);
    await writeFile(join(dir, 'out'), 'original');
    await writeFile(join(dir, 'fail'), '');
    const ssh = await loggingSsh(dir, 2 * MiB, 0);
    const result = await pushFile(join(dir, 'input'), [
      '--streams',
      '3',
      '--ssh',
      ssh,
      `${sandbox.current.host}:${dir}/out`,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`${dir}/out`));
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    assert.equal(await logLines(dir, 'failed'), 1);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('--retries resumes a half-landed parallel push: only the missing range goes again', async () => {
    const dir = await fresh();
    const data = randomBytes(6 * MiB - 5);
    await writeFile(join(dir, 'input'), data);
    await writeFile(join(dir, 'fail'), '');
    // Ranges at 0, 2 and 4 MiB; the one at 4 MiB fails once, after the other two landed.
    const ssh = await loggingSsh(dir, 4 * MiB, 2);
    const result = await pushFile(join(dir, 'input'), [
      '--streams',
      '3',
      '--retries',
      '1',
      '--ssh',
      ssh,
      '--json',
      `${sandbox.current.host}:${dir}/out`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /retry 1 of 1/);
    const json = JSON.parse(result.stdout.toString()) as { resumed: number; digest: string };
    assert.equal(json.resumed, 4 * MiB, 'the two ranges that landed are not sent again');
    assert.equal(json.digest, md5(data));
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    // Two ranges landed in the first run; the second splits the missing 2 MiB over two channels.
    assert.equal(await logLines(dir, 'failed'), 1);
    assert.equal(await logLines(dir, 'range'), 4);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('--resume after a failed parallel push keeps its ranges; a changed input is caught', async () => {
    const dir = await fresh();
    const data = randomBytes(6 * MiB);
    await writeFile(join(dir, 'input'), data);
    await writeFile(join(dir, 'fail'), '');
    const ssh = await loggingSsh(dir, 4 * MiB, 2);
    const target = `${sandbox.current.host}:${dir}/out`;
    const args = ['--streams', '3', '--resume', '--ssh', ssh, '--json', target];
    const failed = await pushFile(join(dir, 'input'), args);
    assert.equal(failed.code, 2, failed.stderr);
    assert.deepEqual(await leftovers(dir), [
      '.out.sshstream-partial',
      '.out.sshstream-partial.ranges',
    ]);
    // The landed ranges no longer match the input: the commit must refuse, whatever was kept.
    const changed = Buffer.from(data);
    changed[10] = changed[10]! ^ 1;
    await writeFile(join(dir, 'input'), changed);
    const refused = await pushFile(join(dir, 'input'), args);
    assert.equal(refused.code, 3, refused.stderr);
    assert.deepEqual(await leftovers(dir), []);
    const again = await pushFile(join(dir, 'input'), args);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await readFile(join(dir, 'out'))).equals(changed));
    assert.deepEqual(await leftovers(dir), []);
  });

  it('runs its ranges at once; SIGINT stops them all: exit 130, nothing left on either side', async () => {
    const dir = await fresh();
    const local = await fresh();
    const input = join(local, 'input');
    await writeFile(input, randomBytes(MiB));
    await truncate(input, 1 << 30); // long enough to be caught running
    await writeFile(join(dir, 'out'), 'original');
    const tmp = join(local, 'tmp');
    await mkdir(tmp);
    const run = await startPush(input, ['--streams', '4', `${sandbox.current.host}:${dir}/out`], {
      TMPDIR: tmp,
    });
    // Four sessions writing at the same time, into a temporary file that grows.
    await waitFor(() => rangeSessions(`${dir}/out`) === 4);
    const [partial] = await leftovers(dir);
    await waitFor(async () => (await stat(join(dir, partial!))).size > 0);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    await waitFor(() => rangeSessions(`${dir}/out`) === 0, 10_000);
    await waitFor(async () => (await leftovers(dir)).length === 0, 10_000);
    assert.deepEqual(await readdir(tmp), [], 'the control directory is gone');
  });

  for (const delay of [30, 10]) {
    // 20 ms: two lanes are faster than one from about 12 ms on (util/streams.ts).
    it(`--streams auto: ranges on a long link (${2 * delay} ms round trip through a delay proxy)`, async () => {
      const dir = await fresh();
      const input = join(dir, 'input');
      await writeFile(input, randomBytes(MiB));
      await truncate(input, 64 * MiB); // from 64 MiB on, the CLI reads a file by offset
      const data = await readFile(input);
      const ssh = await loggingSsh(dir);
      const proxy = `ProxyCommand=${process.execPath} ${DELAY_PROXY} --delay ${delay} %h %p`;
      const result = await pushFile(input, [
        '--ssh',
        ssh,
        '-o',
        proxy,
        `${sandbox.current.host}:${dir}/out`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok((await readFile(join(dir, 'out'))).equals(data));
      assert.ok((await logLines(dir, 'range')) >= 2, 'more than one range session');
      assert.deepEqual(await leftovers(dir), []);
    });
  }

  it('--streams auto after a long login (100 ms round trip): the lanes log in before the pings', async () => {
    const dir = await fresh();
    const input = join(dir, 'input');
    await writeFile(input, randomBytes(MiB));
    await truncate(input, 100 * MiB); // 3 lanes of at least 32 MiB
    const data = await readFile(input);
    const proxy = `ProxyCommand=${process.execPath} ${DELAY_PROXY} --delay 50 %h %p`;
    const run = await startPush(input, ['-o', proxy, `${sandbox.current.host}:${dir}/out`], {
      SSHSTREAM_DEBUG: '1',
    });
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    const lines = result.stderr.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const early = at(/control: a far host: 3 lanes log in now/);
    const plan = at(/push: 3 channel\(s\), round trip/);
    assert.ok(early >= 0 && plan >= 0, result.stderr);
    assert.ok(early < at(/control: request ping/), `opened before the pings\n${result.stderr}`);
    const own = lines.filter((line) => /lane \d: a connection of its own/.test(line));
    assert.equal(own.length, 2, result.stderr);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('the library: push(path, target, { streams: 3 }) goes in ranges too', async () => {
    const dir = await fresh();
    const data = randomBytes(3 * MiB - 1);
    await writeFile(join(dir, 'input'), data);
    const sshCommand = await loggingSsh(dir);
    const result = await push(join(dir, 'input'), `${sandbox.current.host}:${dir}/out`, {
      config: sandbox.current.configPath,
      sshCommand,
      streams: 3,
    });
    assert.equal(result.digest, md5(data));
    assert.ok((await readFile(join(dir, 'out'))).equals(data));
    assert.equal(await logLines(dir, 'range'), 3);
    assert.deepEqual(await leftovers(dir), []);
  });
});
