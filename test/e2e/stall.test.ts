// The stall watchdog against the real sshd through a black-holed link (a ProxyCommand that
// stops forwarding after N bytes and closes nothing) and a server that accepts and never
// speaks. Without the watchdog each of these hangs: every run is killed after 30 s, so a hang
// fails the test instead of the suite.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it, type TestContext } from 'node:test';
import { keepAliveOptions } from '../../lib/ssh/keep-alive.js';
import { startCli, type CliResult, type CliRun } from '../helpers/cli.js';
import { leftovers, md5, waitFor } from '../helpers/files.js';
import { processesWith } from '../helpers/processes.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
const PROXY = fileURLToPath(new URL('../helpers/link-proxy.js', import.meta.url));
const STALL = /^sshstream: (push|pull) \S+: stalled: no data moved for 3s \(--stall-timeout\)\n$/;

// A ProxyCommand through the black-holing proxy; `token` marks its processes (and ssh's). The
// proxy notes in `reportOf(token)` when the link went silent.
function proxied(token: string, stallAfter: number, once?: string): string[] {
  const extra = once === undefined ? [] : ['--once', once];
  return [
    '-o',
    `ProxyCommand=${process.execPath} ${PROXY} --tag ${token} --report ${reportOf(token)} --stall-after ${stallAfter} ${extra.join(' ')} %h %p`,
  ];
}
const reportOf = (token: string): string => join(sandbox.current.scratch, `${token}.stalled`);

// How long after the link went silent the CLI exited (for the log, not asserted).
function noteGiveUp(t: TestContext, token: string, exited: number): void {
  const stalls = readFileSync(reportOf(token), 'utf8').trim().split('\n').map(Number);
  t.diagnostic(
    `exited ${((exited - stalls.at(-1)!) / 1000).toFixed(1)} s after the link went silent`,
  );
}

const running = new Set<CliRun>();
let lastExit = 0;
const tokens = new Set<string>();
after(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
  for (const token of tokens) for (const pid of processesWith(token)) process.kill(pid, 'SIGKILL');
});

// Runs the CLI; a run still going after 30 s is killed and fails (the watchdog did not act).
async function runGuarded(
  t: TestContext,
  args: string[],
  stdin?: number | Buffer,
): Promise<CliResult> {
  const cli = startCli(args, {}, typeof stdin === 'number' ? stdin : undefined);
  running.add(cli);
  if (typeof stdin !== 'number') cli.child.stdin!.end(stdin ?? '');
  const started = performance.now();
  let hung = false;
  const guard = setTimeout(() => {
    hung = true;
    cli.child.kill('SIGKILL');
  }, 30_000);
  const result = await cli.done;
  lastExit = Date.now();
  clearTimeout(guard);
  running.delete(cli);
  t.diagnostic(`ran ${((performance.now() - started) / 1000).toFixed(1)} s`);
  assert.ok(!hung, `still running after 30 s: ${result.stderr}`);
  return result;
}

// No process of this run is left: ssh exits, and takes its ProxyCommand with it.
async function noProcessesLeft(token: string): Promise<void> {
  await waitFor(() => processesWith(token).length === 0, 5000).catch(() => {
    assert.deepEqual(processesWith(token), [], 'processes left behind');
  });
}

// The remote side removes its temporary file once the (dead) connection is gone.
async function noTemporaryLeft(dir: string): Promise<void> {
  await waitFor(async () => (await leftovers(dir)).length === 0, 10_000).catch(async () => {
    assert.deepEqual(await leftovers(dir), [], 'temporary files left');
  });
}

async function openFd(path: string): Promise<number> {
  const { openSync } = await import('node:fs');
  return openSync(path, 'r');
}

describe('a stalled link ends the transfer with exit 2', { timeout: 120_000 }, () => {
  for (const [name, size, extra] of [
    ['push through node', 16 << 20, []],
    ['push read by ssh itself (a big file)', 64 << 20, []],
    ['push in parallel ranges', 16 << 20, ['--streams', '4']],
  ] as const) {
    it(`${name}: the destination kept, nothing left behind`, async (t) => {
      const dir = await sandbox.fresh();
      const local = await sandbox.fresh();
      const input = join(local, 'input');
      if (size > 32 << 20) {
        await writeFile(input, randomBytes(1 << 20));
        await truncate(input, size);
      } else {
        await writeFile(input, randomBytes(size));
      }
      await writeFile(join(dir, 'dest'), 'old\n');
      const token = `stall-${randomBytes(6).toString('hex')}`;
      tokens.add(token);
      const target = `${sandbox.current.host}:${dir}/dest`;
      const fd = await openFd(input);
      const result = await runGuarded(
        t,
        [
          'push',
          ...sandbox.sshArgs,
          ...proxied(token, 1 << 20),
          '--stall-timeout',
          '3',
          ...extra,
          target,
        ],
        fd,
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, STALL);
      noteGiveUp(t, token, lastExit);
      assert.equal(await readFile(join(dir, 'dest'), 'utf8'), 'old\n');
      await noProcessesLeft(token);
      await noTemporaryLeft(dir);
    });
  }

  // By default ssh writes a big pull's file itself; --streams 1 takes it through node.
  for (const [name, extra] of [
    ['written by ssh', []],
    ['through node', ['--streams', '1']],
  ] as const) {
    it(`pull into a file ${name}: the local file kept, no local temporary file`, async (t) => {
      const dir = await sandbox.fresh();
      const local = await sandbox.fresh();
      await writeFile(join(dir, 'big'), randomBytes(16 << 20));
      await writeFile(join(local, 'out'), 'old\n');
      const token = `stall-${randomBytes(6).toString('hex')}`;
      tokens.add(token);
      const result = await runGuarded(t, [
        'pull',
        ...sandbox.sshArgs,
        ...proxied(token, 1 << 20),
        '--stall-timeout',
        '3',
        ...extra,
        `${sandbox.current.host}:${dir}/big`,
        join(local, 'out'),
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, STALL);
      noteGiveUp(t, token, lastExit);
      assert.equal(await readFile(join(local, 'out'), 'utf8'), 'old\n');
      assert.deepEqual(await leftovers(local), []);
      await noProcessesLeft(token);
    });
  }

  it('pull written by ssh, --resume: a second run continues from what landed', async (t) => {
    const dir = await sandbox.fresh();
    const local = await sandbox.fresh();
    const data = randomBytes(24 << 20);
    await writeFile(join(dir, 'big'), data);
    const token = `stall-${randomBytes(6).toString('hex')}`;
    tokens.add(token);
    const source = `${sandbox.current.host}:${dir}/big`;
    const out = join(local, 'out');
    const args = ['pull', ...sandbox.sshArgs, '--stall-timeout', '3', '--resume', '--json'];
    const stalled = await runGuarded(t, [...args, ...proxied(token, 8 << 20), source, out]);
    assert.equal(stalled.code, 2, stalled.stderr);
    assert.match(stalled.stderr, STALL);
    await noProcessesLeft(token);
    const resumed = await runGuarded(t, [...args, source, out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const json = JSON.parse(resumed.stdout.toString()) as { resumed: number; md5: string };
    // What landed before the link went silent, less the MiB block it stopped in.
    assert.ok(json.resumed >= 4 << 20 && json.resumed < 8 << 20, `resumed ${json.resumed}`);
    assert.equal(json.md5, md5(data));
    assert.ok((await readFile(out)).equals(data));
    assert.deepEqual(await leftovers(local), []);
  });

  it('--retries: a stall is retried, and the push completes once the link is back', async (t) => {
    const dir = await sandbox.fresh();
    const local = await sandbox.fresh();
    const data = randomBytes(8 << 20);
    await writeFile(join(local, 'input'), data);
    const token = `stall-${randomBytes(6).toString('hex')}`;
    tokens.add(token);
    const target = `${sandbox.current.host}:${dir}/dest`;
    const once = join(local, 'stalled-once');
    const result = await runGuarded(
      t,
      [
        'push',
        ...sandbox.sshArgs,
        ...proxied(token, 1 << 20, once),
        '--stall-timeout',
        '3',
        '--retries',
        '2',
        '-q',
        target,
      ],
      await openFd(join(local, 'input')),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stalled: no data moved for 3s \(--stall-timeout\); retry 1 of 2/);
    assert.equal(md5(await readFile(join(dir, 'dest'))), md5(data));
    await noProcessesLeft(token);
    await noTemporaryLeft(dir);
  });
});

// A TCP server that accepts and then says `greeting` (maybe nothing) and never more.
function silentServer(greeting: string): { port: Promise<number>; close(): void } {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (greeting) socket.write(greeting);
  });
  const port = new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

// Silent from the start, ConnectTimeout ends it; silent after the banner (key exchange never
// answered), only the keep-alives do.
for (const [phase, greeting, said] of [
  ['a server that accepts and never speaks', '', /timed out/],
  // (ssh says "not responding" only above LogLevel ERROR, which the sandbox's config sets)
  ['a server that stops after its banner', 'SSH-2.0-OpenSSH_9.2\r\n', /not responding|lost/],
] as const) {
  describe(phase, { timeout: 90_000 }, () => {
    const server = silentServer(greeting);
    after(() => server.close());

    for (const operation of ['push', 'pull'] as const) {
      it(`${operation}: gives up connecting after about the stall timeout, exit 2`, async (t) => {
        const port = String(await server.port);
        const dir = await sandbox.fresh();
        const target = `${sandbox.current.host}:${dir}/file`;
        const how = [...sandbox.sshArgs, '-p', port, '--stall-timeout', '2'];
        const args =
          operation === 'push'
            ? ['push', ...how, target]
            : ['pull', ...how, target, join(dir, 'out')];
        const result = await runGuarded(t, args, Buffer.from('data\n'));
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, new RegExp(`^sshstream: ${operation} \\S+: .+\\n$`));
        assert.match(result.stderr, said);
        assert.deepEqual(await leftovers(dir), []);
      });
    }
  });
}

describe('--stall-timeout and the ssh options it sets', () => {
  it('--stall-timeout 0 is accepted (the watchdog off)', async (t) => {
    const dir = await sandbox.fresh();
    const target = `${sandbox.current.host}:${dir}/file`;
    const result = await runGuarded(
      t,
      ['push', ...sandbox.sshArgs, '--stall-timeout', '0', '-q', target],
      Buffer.from('hello\n'),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(dir, 'file'), 'utf8'), 'hello\n');
  });

  it('refuses a stall timeout that is not a whole number of seconds', async (t) => {
    const result = await runGuarded(t, ['push', '--stall-timeout', '1.5', 'h:f'], Buffer.from(''));
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /--stall-timeout must be a whole number/);
  });

  it('keep-alives and ConnectTimeout by default, from the timeout', async () => {
    const destination = { host: sandbox.current.host };
    assert.deepEqual(
      await keepAliveOptions(destination, { config: sandbox.current.configPath }, 60_000),
      ['-o', 'ServerAliveInterval=30', '-o', 'ServerAliveCountMax=3', '-o', 'ConnectTimeout=60'],
    );
    assert.deepEqual(
      await keepAliveOptions(destination, { config: sandbox.current.configPath }, 0),
      [],
    );
  });

  it("none of them where the user's config or -o sets its own", async () => {
    const destination = { host: sandbox.current.host };
    const dir = await sandbox.fresh();
    const config = join(dir, 'ssh_config');
    await writeFile(
      config,
      `Host ${sandbox.current.host}\n  ServerAliveInterval 7\n  ConnectTimeout 9\n`,
    );
    assert.deepEqual(await keepAliveOptions(destination, { config }, 60_000), []);
    assert.deepEqual(
      await keepAliveOptions(
        destination,
        {
          config: sandbox.current.configPath,
          options: ['ServerAliveInterval=0', 'connecttimeout 100'],
        },
        60_000,
      ),
      [],
    );
    // A --ssh command may not be OpenSSH: nothing is added for it.
    assert.deepEqual(
      await keepAliveOptions(destination, { sshCommand: 'ssh', config }, 60_000),
      [],
    );
  });
});
