// A host, user or jump host that ssh could read as an option, or that holds whitespace, control
// characters or shell metacharacters, is refused with exit 1 before ssh is spawned (git's
// CVE-2017-1000117 class; OpenSSH before 9.6 also put %r/%h into ProxyCommand unchecked,
// CVE-2023-51385). The "ssh" used here is a script that leaves a marker file when it runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  createExecStream,
  createPullStream,
  createPushStream,
  execRemote,
  push,
  UsageError,
} from '../../lib/index.js';
import { runCli } from '../helpers/cli.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
let dir: string;
let marker: string;
let fakeSsh: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sshstream-hosts-'));
  marker = join(dir, 'ssh-ran');
  fakeSsh = join(dir, 'fake-ssh');
  await writeFile(fakeSsh, `#!/bin/sh\ntouch '${marker}'\nexit 255\n`, { mode: 0o755 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const REFUSED_TARGETS: ReadonlyArray<readonly [string, string]> = [
  ['host is an option', '-oProxyCommand=touch /tmp/pwned:x'],
  ['host is -l', '-l:x'],
  ['host is --', '--:x'],
  ['space in host', 'a b:x'],
  ['tab in host', 'a\tb:x'],
  ['newline in host', 'a\nb:x'],
  ['carriage return in host', 'a\rb:x'],
  ['escape sequence in host', 'a\x1b[31mb:x'],
  ['DEL in host', 'a\x7f:x'],
  ['semicolon in host', 'host;id:x'],
  ['command substitution in host', 'h$(id):x'],
  ['backticks in host', 'h`id`:x'],
  ['pipe in host', 'h|id:x'],
  ['ampersand in host', 'h&:x'],
  ['quotes in host', `h'"x:x`],
  ['glob in host', 'h*:x'],
  ['bang in host', 'h!:x'],
  ['backslash in host', 'h\\x:x'],
  ['percent token in host', 'h%d:x'],
  ['empty host', ':x'],
  ['no path', 'host'],
  ['empty path', 'host:'],
  ['user is an option', '-oProxyCommand=touch /tmp/pwned@h:x'],
  ['user is -l', '-l@h:x'],
  ['space in user', 'a b@h:x'],
  ['metacharacters in user', 'a;touch x@h:x'],
  ['command substitution in user', '$(id)@h:x'],
  ['newline in user', 'a\nb@h:x'],
  ['empty user', '@h:x'],
  ['option in brackets', '[-oProxyCommand=x]:p'],
  ['metacharacters in brackets', '[::1;id]:x'],
  ['unclosed bracket', '[::1:x'],
];
// argv cannot hold a NUL: the library only.
const LIBRARY_ONLY = [...REFUSED_TARGETS, ['NUL in target', 'h:x\0y']] as const;
// The CLI runs a sample (each run costs a node start); the library runs the whole table.
const CLI_SAMPLE = new Set([
  'host is an option',
  'host is -l',
  'newline in host',
  'escape sequence in host',
  'DEL in host',
  'command substitution in host',
  'semicolon in host',
  'user is an option',
  'metacharacters in user',
  'option in brackets',
]);
const PULL_SAMPLE = new Set(['host is an option', 'escape sequence in host', 'user is an option']);

const REFUSED_JUMPS: ReadonlyArray<readonly [string, string]> = [
  ['jump is an option', '-oProxyCommand=touch /tmp/pwned'],
  ['second jump is an option', 'a,-oProxyCommand=x'],
  ['space in jump', 'a b'],
  ['metacharacters in jump', 'h;id'],
  ['command substitution in jump', '$(id)'],
  ['newline in jump', 'a\nb'],
  ['escape in jump', 'a\x1bb'],
  ['user is an option in jump', '-l@h'],
  ['empty jump', ''],
];

// One line, no raw control characters: a hostile target must not paint the terminal.
function assertOneCleanLine(stderr: string): void {
  assert.match(stderr, /^sshstream: [^\n]*\n$/);
  assert.doesNotMatch(stderr.slice(0, -1), /[\x00-\x1f\x7f]/);
}

describe('the CLI refuses hosts and users before running ssh (exit 1)', { concurrency: 4 }, () => {
  for (const [label, target] of REFUSED_TARGETS.filter(([label]) => CLI_SAMPLE.has(label))) {
    for (const command of ['push', 'pull'] as const) {
      if (command === 'pull' && !PULL_SAMPLE.has(label)) continue;
      it(`${command}: ${label}`, async () => {
        const result = await runCli([command, '--ssh', fakeSsh, '--', target], 'x');
        assert.equal(result.code, 1, result.stderr);
        assertOneCleanLine(result.stderr);
        assert.ok(result.stderr.startsWith(`sshstream: ${command} `), result.stderr);
        assert.ok(!existsSync(marker), 'ssh was spawned');
      });
    }
  }

  for (const [label, jump] of REFUSED_JUMPS) {
    it(`-J: ${label}`, async () => {
      const result = await runCli(['push', '--ssh', fakeSsh, '-J', jump, 'sandbox:x'], 'x');
      assert.equal(result.code, 1, result.stderr);
      assertOneCleanLine(result.stderr);
      assert.match(result.stderr, /refused jump host/);
      assert.ok(!existsSync(marker), 'ssh was spawned');
    });
  }

  it('SSHSTREAM_SSH is not run either', async () => {
    const result = await runCli(['pull', '--', '-oProxyCommand=x:y'], '', {
      SSHSTREAM_SSH: fakeSsh,
    });
    assert.equal(result.code, 1);
    assert.ok(!existsSync(marker), 'ssh was spawned');
  });
});

describe('the library refuses them synchronously, with UsageError', () => {
  const options = () => ({ sshCommand: fakeSsh });
  const isUsage = (error: unknown): boolean =>
    error instanceof UsageError && error.code === 'ERR_SSHSTREAM_USAGE' && error.exitCode === 1;

  it('createPushStream, createPullStream and push', async () => {
    for (const [, target] of LIBRARY_ONLY) {
      assert.throws(() => createPushStream(target, options()), isUsage, JSON.stringify(target));
      assert.throws(() => createPullStream(target, options()), isUsage, JSON.stringify(target));
      await assert.rejects(push(Readable.from([]), target, options()), isUsage);
    }
    for (const [, jump] of REFUSED_JUMPS) {
      assert.throws(() => createPushStream('sandbox:x', { ...options(), jump }), isUsage);
      assert.throws(() => createPullStream('sandbox:x', { ...options(), jump }), isUsage);
    }
    assert.ok(!existsSync(marker), 'ssh was spawned');
  });

  it('execRemote and createExecStream, given a string or a destination object', async () => {
    const destinations = [
      '-oProxyCommand=x',
      'a b',
      'h;id',
      '-l@h',
      'a;b@h',
      { host: '-oProxyCommand=x' },
      { host: 'h', user: '-oProxyCommand=x' },
      { host: 'h', user: 'a;touch x' },
      { host: 'h', user: '$(id)' },
      { host: 'h', user: 'a\nb' },
    ];
    for (const destination of destinations) {
      const label = JSON.stringify(destination);
      await assert.rejects(execRemote(destination, ['true'], options()), isUsage, label);
      assert.throws(() => createExecStream(destination, ['true'], options()), isUsage, label);
    }
    assert.ok(!existsSync(marker), 'ssh was spawned');
  });
});

describe('what is accepted still works', () => {
  it('user@host, an IP in brackets and a jump host reach the real sshd', async () => {
    const s = sandbox.current;
    const data = Buffer.from('through the jump host');
    const target = `${s.user}@${s.host}:${s.scratch}/jumped`;
    const result = await runCli(['push', '-q', '-F', s.configPath, '-J', s.host, target], data);
    assert.equal(result.code, 0, result.stderr);
    const pulled = await runCli([
      'pull',
      '-q',
      '-F',
      s.configPath,
      '-p',
      String(s.port),
      '-o',
      'HostKeyAlias=sshstream-sandbox',
      '-o',
      `UserKnownHostsFile=${s.knownHostsPath}`,
      '-o',
      'BatchMode=yes',
      '-i',
      s.identityPath,
      `${s.user}@[127.0.0.1]:${s.scratch}/jumped`,
    ]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(pulled.stdout.equals(data));
  });
});
