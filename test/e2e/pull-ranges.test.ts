// `pull host:path FILE --streams N`: the file travels in ranges, each on its own session over
// the one connection, written at its offset into one temporary file, committed only when the
// whole file's count and digest match. Against the real sshd (and Dropbear with a BusyBox login).
// A wrapper given as --ssh sees every ssh the pull starts: the range sessions are the ones that
// ride the master (ControlMaster=no); it numbers them and can hold, refuse or cut one. It also
// counts the masters (ControlMaster=yes): one connection per pull.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureBusyboxUser, findBusybox } from '../helpers/busybox.js';
import { runCli } from '../helpers/cli.js';
import { leftovers, md5 } from '../helpers/files.js';
import { skipUnlessRoot } from '../helpers/prerequisites.js';
import { useSandbox } from '../helpers/sandbox.js';
import { userDir, type TestUser } from '../helpers/users.js';
import { encodeArgument } from '../../lib/remote/script.js';

const MIB = 1024 * 1024;
// A long link on loopback: the benchmark's delay proxy, as ssh's ProxyCommand.
const DELAY_PROXY = fileURLToPath(new URL('../../bench/delay-proxy.js', import.meta.url));

// What the wrapper does with the range sessions, numbered from 1 as they start; `range` picks
// the one whose range starts at that offset (its arguments hold it, encoded).
type Behaviour =
  // Each waits until `count` range sessions have started (at most 60 s), and writes how many
  // it saw: sessions that ran one after another would each see fewer.
  | { barrier: number }
  // That range's session exits as if its connection were lost, at once.
  | { refuse: number }
  // That range's session ends cleanly after 100 bytes of output (its header and a few of data).
  | { cut: number }
  // That range's session waits until the `of` others have ended, then exits as if lost.
  | { refuseLast: number; of: number }
  // Before that range's session starts, the remote file `file` gets another modification time
  // (its bytes stay as they were: only the stamp can tell).
  | { touch: number; file: string };

async function wrapper(dir: string, behaviour: Behaviour): Promise<string> {
  const path = join(dir, 'ssh-wrapper');
  const count = (what: string) => `$(ls -d "$D"/${what}-* 2>/dev/null | wc -l)`;
  const wait = (what: string, n: number) =>
    `i=0; while [ ${count(what)} -lt ${n} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done`;
  const chosen = (offset: number) =>
    `case " $* " in *" ${encodeArgument(String(offset))} "*) ;; *) exec ssh "$@" ;; esac`;
  let body: string;
  if ('barrier' in behaviour) {
    body = `${wait('rider', behaviour.barrier)}; echo ${count('rider')} > "$D/saw-$n"; exec ssh "$@"`;
  } else if ('refuse' in behaviour) {
    body = `${chosen(behaviour.refuse)}; echo "test: session $n lost" >&2; exit 255`;
  } else if ('cut' in behaviour) {
    body = `${chosen(behaviour.cut)}; ssh "$@" | head -c 100; exit 0`;
  } else if ('touch' in behaviour) {
    body = `${chosen(behaviour.touch)}; touch -d 2001-01-01 '${behaviour.file}'; exec ssh "$@"`;
  } else {
    body =
      `case " $* " in *" ${encodeArgument(String(behaviour.refuseLast))} "*) ;; ` +
      `*) ssh "$@"; r=$?; mkdir "$D/done-$n"; exit $r ;; esac; ` +
      `${wait('done', behaviour.of)}; echo "test: session $n lost" >&2; exit 255`;
  }
  await writeFile(
    path,
    `#!/bin/sh
D='${dir}'
case " $* " in *" ControlMaster=yes "*) mkdir "$D/master-$$" ;; esac
case " $* " in *" ControlMaster=no "*) ;; *) exec ssh "$@" ;; esac
n=1; while ! mkdir "$D/rider-$n" 2>/dev/null; do n=$((n + 1)); done
${body}
`,
  );
  await chmod(path, 0o755);
  return path;
}

const riders = async (dir: string): Promise<number> =>
  (await readdir(dir)).filter((name) => name.startsWith('rider-')).length;
const masters = async (dir: string): Promise<number> =>
  (await readdir(dir)).filter((name) => name.startsWith('master-')).length;

describe('pull in ranges (--streams)', () => {
  const sandbox = useSandbox();
  let dir = '';
  let n = 0;
  const fresh = () => mkdtemp(join(dir, `case-${n++}-`));
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-ranges-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const cfg = () => ['-F', sandbox.current.configPath, '-q'];
  const remoteFile = async (size: number): Promise<{ path: string; data: Buffer }> => {
    const data = randomBytes(size);
    const path = join(sandbox.current.scratch, `ranges-${randomBytes(4).toString('hex')}`);
    await writeFile(path, data);
    return { path, data };
  };

  // Up to 1 MiB the file is one range, carried by the control session itself (no session
  // rides it); above, each range rides the one connection.
  const sizes: [number, number][] = [
    [0, 0],
    [1, 0],
    [MIB - 1, 0],
    [MIB + 1, 2],
    [5 * MIB + 123, 4],
  ];
  for (const [size, ranges] of sizes) {
    it(`--streams 4 --single-connection pulls ${size} bytes byte-exact over one connection, ${ranges} range sessions`, async () => {
      const { path, data } = await remoteFile(size);
      const at = await fresh();
      const ssh = await wrapper(at, { barrier: ranges });
      const local = join(at, 'out');
      const source = `${sandbox.current.host}:${path}`;
      const result = await runCli([
        'pull',
        ...cfg(),
        '--ssh',
        ssh,
        '--streams',
        '4',
        '--single-connection',
        source,
        local,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(local)), md5(data));
      assert.equal(await masters(at), 1);
      assert.equal(await riders(at), ranges);
      assert.deepEqual(await leftovers(at), []);
    });
  }

  it('--streams auto after a long login (100 ms round trip): the lanes log in before the pings', async () => {
    const path = join(sandbox.current.scratch, `ranges-far-${randomBytes(4).toString('hex')}`);
    await writeFile(path, randomBytes(MIB));
    await truncate(path, 100 * MIB); // 3 lanes of at least 32 MiB
    const at = await fresh();
    const local = join(at, 'out');
    const proxy = `ProxyCommand=${process.execPath} ${DELAY_PROXY} --delay 50 %h %p`;
    const source = `${sandbox.current.host}:${path}`;
    const result = await runCli(['pull', ...cfg(), '-o', proxy, source, local], '', {
      SSHSTREAM_DEBUG: '1',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(local)), md5(await readFile(path)));
    const lines = result.stderr.split('\n');
    const index = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const early = index(/control: a far host: 3 lanes log in now/);
    assert.ok(early >= 0 && index(/pull: size \d+, round trip/) >= 0, result.stderr);
    assert.ok(early < index(/control: request ping/), `opened before the pings\n${result.stderr}`);
    const own = lines.filter((line) => /lane \d: a connection of its own/.test(line));
    assert.equal(own.length, 2, result.stderr);
    assert.deepEqual(await leftovers(at), []);
  });

  it('the ranges travel at the same time, each on a session over the one connection', async () => {
    const { path, data } = await remoteFile(5 * MIB + 123);
    const at = await fresh();
    const ssh = await wrapper(at, { barrier: 4 });
    const local = join(at, 'out');
    const result = await runCli([
      'pull',
      ...cfg(),
      '--ssh',
      ssh,
      '--streams',
      '4',
      `${sandbox.current.host}:${path}`,
      local,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(md5(await readFile(local)), md5(data));
    assert.equal(await riders(at), 4);
    for (let i = 1; i <= 4; i++) {
      assert.equal((await readFile(join(at, `saw-${i}`), 'utf8')).trim(), '4', `session ${i}`);
    }
  });

  it('a range whose session is lost: exit 2, destination untouched, nothing left', async () => {
    const { path } = await remoteFile(5 * MIB + 123);
    const at = await fresh();
    const ssh = await wrapper(at, { refuse: 4 * MIB });
    const local = join(at, 'out');
    await writeFile(local, 'old contents');
    const result = await runCli([
      'pull',
      ...cfg(),
      '--ssh',
      ssh,
      '--streams',
      '4',
      `${sandbox.current.host}:${path}`,
      local,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /test: session \d lost/);
    assert.equal(await readFile(local, 'utf8'), 'old contents');
    assert.deepEqual(await leftovers(at), []);
  });

  it('a range that comes short (its session ends early, cleanly): exit 3, destination untouched', async () => {
    const { path } = await remoteFile(5 * MIB + 123);
    const at = await fresh();
    const ssh = await wrapper(at, { cut: 4 * MIB });
    const local = join(at, 'out');
    await writeFile(local, 'old contents');
    const result = await runCli([
      'pull',
      ...cfg(),
      '--ssh',
      ssh,
      '--streams',
      '4',
      `${sandbox.current.host}:${path}`,
      local,
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(await readFile(local, 'utf8'), 'old contents');
    assert.deepEqual(await leftovers(at), []);
  });

  it('a remote file that changes while its ranges travel: exit 3, destination untouched', async () => {
    const { path } = await remoteFile(5 * MIB + 123);
    const at = await fresh();
    const ssh = await wrapper(at, { touch: 4 * MIB, file: path });
    const local = join(at, 'out');
    await writeFile(local, 'old contents');
    const source = `${sandbox.current.host}:${path}`;
    const result = await runCli(['pull', ...cfg(), '--ssh', ssh, '--streams', '4', source, local]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /changed during the transfer/);
    assert.equal(await readFile(local, 'utf8'), 'old contents');
    assert.deepEqual(await leftovers(at), []);
  });

  it('--resume after a half-landed pull in ranges fetches only the missing range', async () => {
    const { path, data } = await remoteFile(5 * MIB + 123);
    const at = await fresh();
    const ssh = await wrapper(at, { refuseLast: 4 * MIB, of: 3 });
    const local = join(at, 'out');
    const source = `${sandbox.current.host}:${path}`;
    const failed = await runCli([
      'pull',
      ...cfg(),
      '--ssh',
      ssh,
      '--resume',
      '--streams',
      '4',
      source,
      local,
    ]);
    assert.equal(failed.code, 2, failed.stderr);
    assert.deepEqual(await readdir(at).then((names) => names.includes('out')), false);
    const resumed = await runCli([
      'pull',
      ...cfg(),
      '--json',
      '--resume',
      '--streams',
      '4',
      source,
      local,
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(md5(await readFile(local)), md5(data));
    // Ranges of 2, 2, 1 and 1 blocks (the last 123 bytes): the third, at 4 MiB, was missing.
    const report = JSON.parse(resumed.stdout.toString()) as { resumed: number };
    assert.equal(report.resumed, data.length - MIB);
    assert.deepEqual(await leftovers(at), []);
  });
});

const busybox = process.platform === 'linux' && findBusybox() !== undefined;
describe(
  'pull in ranges from Dropbear, BusyBox login',
  { skip: skipUnlessRoot(busybox, 'needs root, Linux and busybox') },
  () => {
    const name = 'sshstream-busybox';
    let user: TestUser | undefined;
    before(async () => {
      user = await ensureBusyboxUser(name);
    });
    const sandbox = useSandbox({ server: 'dropbear', user: name });
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sshstream-ranges-db-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('--streams 4 pulls 5 MiB + 123 bytes byte-exact, in 4 sessions at once', async () => {
      const remoteDir = await userDir(sandbox.current.scratch, 'ranges', user);
      const data = randomBytes(5 * MIB + 123);
      const path = join(remoteDir, 'data');
      await writeFile(path, data);
      await chmod(path, 0o644);
      const ssh = await wrapper(dir, { barrier: 4 });
      const local = join(dir, 'out');
      const args = ['pull', '-F', sandbox.current.configPath, '-q', '--ssh', ssh, '--streams', '4'];
      const result = await runCli([...args, `${sandbox.current.host}:${path}`, local]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(md5(await readFile(local)), md5(data));
      assert.equal(await riders(dir), 4);
      assert.deepEqual(await leftovers(dir), []);
    });
  },
);
