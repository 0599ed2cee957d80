// The shell-proof command string, checked locally without ssh: sshd runs
// `LOGIN_SHELL -c COMMAND`, so running COMMAND under each shell here is what the remote does.
// The `exec` operation with argv `printf '%s\0' start ARGS...` echoes every argument back,
// NUL-terminated, so the bytes the script decoded can be compared with what went in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildRemoteCommand, encodeArgument, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { localShell, outerShells, shImplementations } from '../helpers/users.js';

const OUTER = outerShells();
const INNER = shImplementations();

/** Runs the echo command under `outer` (and `inner` in place of sh); returns the decoded args. */
function echo(outer: string, args: readonly Uint8Array[], inner?: readonly string[]): Buffer[] {
  let command = buildRemoteCommand(['T', 'exec', 'printf', '%s\\0', 'start', ...args]);
  if (inner) command = command.replace(/^exec sh -c /, `exec ${inner.join(' ')} -c `);
  const { file, argv0 } = localShell(outer)!;
  const result = spawnSync(file, ['-c', command], { argv0, cwd: '/', input: SCRIPT_INPUT });
  assert.equal(result.status, 0, `${outer}: ${result.stderr.toString()}`);
  const parts: Buffer[] = [];
  // The exec operation announces the command's output with the line "<tag> start".
  const header = Buffer.from('T start\n');
  assert.ok(result.stdout.subarray(0, header.length).equals(header), 'header line first');
  let rest = result.stdout.subarray(header.length);
  for (let at = rest.indexOf(0); at !== -1; at = rest.indexOf(0)) {
    parts.push(rest.subarray(0, at));
    rest = rest.subarray(at + 1);
  }
  assert.equal(rest.length, 0, 'output ends with a NUL');
  assert.equal(parts.shift()?.toString(), 'start');
  return parts;
}

const TRICKY: ReadonlyArray<string | Buffer> = [
  '',
  ' ',
  '\n',
  'trailing\n\n',
  '\\',
  'x\\',
  "'",
  "\\'",
  '"',
  '!',
  '!!',
  '$HOME',
  '$(touch sshstream-encoding-canary)',
  '`touch /tmp/sshstream-encoding-canary`',
  '%s%d%%',
  '\\101\\x41\\n\\c',
  '-n',
  '-e',
  '--',
  '*',
  '~',
  'x'.repeat(200),
  Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)),
  Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28]),
  'héllo ☃ 🦀',
];

describe('encodeArgument', () => {
  it('writes x and three octal digits per byte, nothing a shell could parse', () => {
    assert.equal(encodeArgument(''), 'x');
    assert.equal(encodeArgument('A\n'), 'x101012');
    assert.equal(encodeArgument(Buffer.from([0, 255])), 'x000377');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const encoded = encodeArgument(bytes);
        assert.match(encoded, /^x([0-7]{3})*$/);
        assert.equal(encoded.length, 1 + 3 * bytes.length);
      }),
    );
  });

  it('the command string holds nothing that fish, tcsh or zsh treat specially inside quotes', () => {
    const command = buildRemoteCommand(['tag', 'op', "a'b\\c!d\ne"]);
    const bootstrap = command.slice("exec sh -c '".length, command.indexOf("' sshstream "));
    assert.doesNotMatch(bootstrap, /['\\!\n]/);
    assert.match(command.slice(command.indexOf("' sshstream ") + 1), /^ sshstream( x[0-7]*)+$/);
  });

  it('a 4 KiB path stays far below the kernel limit for one argument (128 KiB)', () => {
    const command = buildRemoteCommand([
      'tag',
      'push-control',
      '/'.repeat(4096),
      '0',
      'md5',
      '',
      '',
    ]);
    assert.ok(command.length < 64 * 1024, `${command.length} bytes`);
  });
});

describe('every login shell passes the arguments through byte-exact', () => {
  for (const outer of OUTER) {
    it(`${outer}: a table of tricky arguments`, () => {
      const args = TRICKY.map((value) => Buffer.from(value));
      assert.deepEqual(echo(outer, args), args);
    });

    it(`${outer}: arbitrary bytes (no NUL), several arguments at once`, () => {
      const noNul = fc
        .uint8Array({ maxLength: 40 })
        .map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 0)));
      fc.assert(
        fc.property(fc.array(noNul, { maxLength: 4 }), (args) => {
          assert.deepEqual(echo(outer, args), args);
        }),
        { numRuns: 25 },
      );
    });

    it(`${outer}: one 30 000-byte argument`, () => {
      const big = Buffer.alloc(30_000, 'ab\\\n!');
      assert.deepEqual(echo(outer, [big]), [big]);
    });
  }
});

describe('the script runs under whatever sh is on the remote', () => {
  for (const inner of INNER) {
    it(`${inner.join(' ')} as sh`, () => {
      const args = TRICKY.map((value) => Buffer.from(value));
      assert.deepEqual(echo('sh', args, inner), args);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
          const arg = Buffer.from(bytes.filter((byte) => byte !== 0));
          assert.deepEqual(echo('sh', [arg], inner), [arg]);
        }),
        { numRuns: 15 },
      );
    });
  }
});

describe('nothing ran', () => {
  it('no canary', () => {
    assert.ok(!existsSync('/tmp/sshstream-encoding-canary'));
    assert.ok(!existsSync('/sshstream-encoding-canary'));
  });
});
