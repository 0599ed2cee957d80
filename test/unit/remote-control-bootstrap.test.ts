// The control session's bootstrap (buildControlCommand) reads the script with head, in blocks,
// where the others read it a byte at a time: run here under each login shell and each sh, as
// remote-encoding.test.ts does for those, with the `exec` operation echoing its arguments.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { buildControlCommand, SCRIPT_INPUT } from '../../lib/remote/script.js';
import { localShell, outerShells, shImplementations } from '../helpers/users.js';

const OUTER = outerShells();
const INNER = shImplementations();
const ARGS = ['', ' ', "it's", '\\$HOME!', 'two\nlines\n\n', 'héllo ☃', '-n', '*'].map((arg) =>
  Buffer.from(arg),
);

// Runs the control command with `args` to echo under `outer` (and `inner` as sh), `input` on stdin.
function run(outer: string, input: string, args: readonly Buffer[], inner?: readonly string[]) {
  let command = buildControlCommand(['T', 'exec', 'printf', '%s\\0', 'start', ...args]);
  if (inner) command = command.replace(/^exec sh -c /, `exec ${inner.join(' ')} -c `);
  const { file, argv0 } = localShell(outer)!;
  return spawnSync(file, ['-c', command], { argv0, cwd: '/', input });
}

// The arguments the exec operation printed, NUL-terminated after its "T start" line.
function echoed(stdout: Buffer): Buffer[] {
  const header = 'T start\n';
  assert.equal(stdout.subarray(0, header.length).toString(), header);
  const parts: Buffer[] = [];
  let rest = stdout.subarray(header.length);
  for (let at = rest.indexOf(0); at !== -1; at = rest.indexOf(0)) {
    parts.push(rest.subarray(0, at));
    rest = rest.subarray(at + 1);
  }
  assert.equal(rest.length, 0, 'output ends with a NUL');
  return parts.slice(1);
}

describe('the control bootstrap, which reads the script at once', () => {
  it('holds nothing that fish, tcsh or zsh treat specially inside quotes', () => {
    const command = buildControlCommand(['tag', 'op']);
    const bootstrap = command.slice("exec sh -c '".length, command.indexOf("' sshstream "));
    assert.doesNotMatch(bootstrap, /['\\!\n]/);
  });

  it('the script is printable ASCII, so sh counts its length in bytes', () => {
    assert.match(SCRIPT_INPUT, /^[\n -~]*$/);
  });

  for (const outer of OUTER) {
    it(`${outer}: runs the script with every argument byte-exact`, () => {
      const result = run(outer, SCRIPT_INPUT, ARGS);
      assert.equal(result.status, 0, `${outer}: ${result.stderr.toString()}`);
      assert.deepEqual(echoed(result.stdout), ARGS);
    });
  }

  for (const inner of INNER) {
    it(`${inner.join(' ')} as sh: runs the script; one cut short runs nothing`, () => {
      const result = run('sh', SCRIPT_INPUT, ARGS, inner);
      assert.equal(result.status, 0, result.stderr.toString());
      assert.deepEqual(echoed(result.stdout), ARGS);
      const body = SCRIPT_INPUT.slice(0, -2);
      // EOF before the empty line, or an empty line too soon (before the last statement, which
      // runs the operation): exit 2, not a word printed.
      const beforeLast = body.slice(0, body.lastIndexOf('\ncase $op in'));
      for (const cut of [body.slice(0, -5), `${beforeLast}\n\n`, '']) {
        const short = run('sh', cut, ARGS, inner);
        assert.deepEqual([short.status, short.stdout.toString()], [2, '']);
      }
    });
  }
});
