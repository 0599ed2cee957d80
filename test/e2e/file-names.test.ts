// Every byte but NUL and '/' is legal in a file name, and a hostile name must land byte-exact
// with nothing run: names that would run `touch <canary>` under some shell's parsing are in the
// table, and no canary file may appear anywhere afterwards.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { parseTarget, pull, push, UsageError } from '../../lib/index.js';
import { buildRemoteCommand, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { runCli } from '../helpers/cli.js';
import { md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';
import { hostileNames } from '../helpers/names.js';
import { sink } from '../helpers/streams.js';
import { useShellUsers } from '../helpers/shell-users.js';
import { SHELLS } from '../helpers/users.js';

const run = promisify(execFile);
// ssh running the remote script, which it reads first on stdin.
const runScript = (args: string[]) => {
  const running = run('ssh', args);
  running.child.stdin!.end(SCRIPT_INPUT);
  return running;
};
const sandbox = useSandbox();
const ssh = () => ({ config: sandbox.current.configPath });

// A relative name: if any shell ran it, the file appears in that shell's working directory
// (the remote home, or our own cwd for a local shell).
const CANARY = `sshstream-canary-${randomBytes(4).toString('hex')}`;
const CANARY_DIRS = new Set([process.cwd(), homedir()]);

const HOSTILE_NAMES = hostileNames(CANARY);
// Our temporary files (remote and local); the table has a name that only looks like one.
const TEMPORARY = /\.sshstream-(SSHSTREAM-)?[0-9a-f]{16}\.tmp$/;

// One name that holds most of the above at once, for the per-shell runs.
const KITCHEN_SINK = `-~ it's "$(touch ${CANARY})" \`touch ${CANARY}\`;&|<>!*?[{#}]$HOME \\'x ☃\n!x\\\n`;
const PER_SHELL: ReadonlyArray<readonly [string, string]> = [
  ['kitchen sink, ending in backslash newline', KITCHEN_SINK],
  ['trailing backslash', 'ab\\'],
  ['trailing newline', 'ab\n'],
  ['bang first', '!!'],
];

// Push `name` into `dir`, check what landed, then pull it back.
async function roundTrip(at: string, dir: string, name: string): Promise<void> {
  const data = Buffer.concat([Buffer.from(name), randomBytes(1000)]);
  const target = `${at}:${dir}/${name}`;
  const pushed = await push(Readable.from([data]), target, ssh());
  assert.equal(pushed.md5, md5(data));
  assert.deepEqual(await readdir(dir), [name], 'exactly the name, nothing else');
  assert.ok((await readFile(join(dir, name))).equals(data));
  const out = sink();
  const pulled = await pull(target, out, ssh());
  assert.ok(out.data().equals(data));
  assert.equal(pulled.md5, md5(data));
}

describe('hostile remote names land byte-exact (default login)', { concurrency: 4 }, () => {
  for (const [label, name] of HOSTILE_NAMES) {
    it(label, async () => {
      await roundTrip(sandbox.current.host, await sandbox.fresh(), name);
    });
  }

  it('hostile directory names, created with --mkdir', async () => {
    const dir = await sandbox.fresh();
    const path = `-x/~y/$(touch ${CANARY})\n/ a\\'b /f`;
    const data = Buffer.from('deep');
    await push(Readable.from([data]), `${sandbox.current.host}:${dir}/${path}`, {
      ...ssh(),
      mkdir: true,
    });
    assert.ok((await readFile(join(dir, path))).equals(data));
  });

  it('a relative hostile name lands in the remote home', async () => {
    const name = `sshstream-names-$(touch ${CANARY}) \\'x\n`;
    const home = homedir();
    try {
      await push(Readable.from([Buffer.from('home')]), `${sandbox.current.host}:${name}`, ssh());
      assert.equal(await readFile(join(home, name), 'utf8'), 'home');
    } finally {
      await run('rm', ['-f', '--', join(home, name)]);
    }
  });
});

// Locally no shell is involved at all; these are the names that trip up path handling.
const LOCAL_LABELS = [
  'newline',
  'trailing backslash',
  'command substitution',
  'glob star',
  'leading dash',
  'leading tilde',
  '$HOME',
  'control characters',
  'looks like our temporary',
  '255 bytes',
  '255 bytes of UTF-8',
];

describe('the CLI writes hostile local names for pull host:path FILE', { concurrency: 4 }, () => {
  for (const [label, name] of HOSTILE_NAMES.filter(([label]) => LOCAL_LABELS.includes(label))) {
    it(label, async () => {
      const remote = join(await sandbox.fresh(), 'source');
      const data = randomBytes(500);
      await writeFile(remote, data);
      const local = await sandbox.fresh();
      const file = join(local, name);
      const result = await runCli([
        'pull',
        '-q',
        ...sandbox.sshArgs,
        `${sandbox.current.host}:${remote}`,
        file,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await readdir(local), [name]);
      assert.ok((await readFile(file)).equals(data));
    });
  }
});

describe('hostile names under every login shell', () => {
  const users = useShellUsers();
  before(() => {
    for (const user of users.all().values()) CANARY_DIRS.add(user.home);
  });
  for (const shell of SHELLS) {
    describe(shell, { concurrency: 3 }, () => {
      for (const [label, name] of PER_SHELL) {
        it(label, async (t) => {
          const user = users.loginAs(t, shell);
          if (!user) return;
          await roundTrip(`${user.name}@${sandbox.current.host}`, await sandbox.fresh(user), name);
        });
      }
    });
  }
});

describe('non-UTF-8 names', () => {
  const invalid = Buffer.from([0x66, 0xff, 0xfe, 0x80, 0x0a, 0xc3]);

  // The library takes paths as JS strings, so a name that is not UTF-8 cannot be given to
  // push or pull. A lone surrogate would be encoded as U+FFFD, a different name: refused.
  it('a target with a lone surrogate is refused, not silently renamed', () => {
    assert.throws(
      () => parseTarget('sandbox:/tmp/\udcff'),
      (error: unknown) => error instanceof UsageError && /not valid Unicode/.test(error.message),
    );
  });

  // The remote script itself is byte-clean: given the raw bytes, it creates and reads the file.
  it('the remote script writes and reads a name that is not UTF-8', async () => {
    const dir = await sandbox.fresh();
    const path = Buffer.concat([Buffer.from(dir + '/'), invalid]);
    const sshArgs = [...sandbox.sshArgs, '--', sandbox.current.host];
    const command = buildRemoteCommand(['', 'exec', 'sh', '-c', 'printf raw > "$1"', 'sh', path]);
    await runScript([...sshArgs, command]);
    const names = await readdir(Buffer.from(dir), { encoding: 'buffer' });
    assert.deepEqual(names, [invalid]);
    const tag = `SSHSTREAM-${randomBytes(8).toString('hex')}`;
    const { stdout, stderr } = await runScript([
      ...sshArgs,
      buildRemoteCommand([tag, 'pull', path, 'md5', '']),
    ]);
    // Header: size, offset, compression on the wire ('-': none).
    assert.match(stdout, new RegExp(`^${tag} 3 0 -\nraw$`));
    assert.equal(stderr, `${tag} sum 3 ${md5('raw')}\n`);
  });
});

describe('nothing ran', () => {
  it(`no ${CANARY} file anywhere a shell could have run`, async () => {
    for (const dir of CANARY_DIRS) assert.ok(!existsSync(join(dir, CANARY)), dir);
    for (const dir of await readdir(sandbox.current.scratch)) {
      const names = await readdir(join(sandbox.current.scratch, dir));
      assert.deepEqual(
        names.filter((name) => TEMPORARY.test(name)),
        [],
        'temporary files left',
      );
      assert.ok(!names.includes(CANARY));
    }
  });
});
