// Every process the remote script starts costs a small transfer 5-10 ms on a small server. Run
// here as sshd would run it, under each shell that can be a server's /bin/sh, with a PATH that
// holds only the tools a step may use: what it does without the others must still be right.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodePrintfFormat } from '../../lib/remote/script.js';
import { SCRIPT_SHELLS as SHELLS, useScriptRunner } from '../helpers/script-runner.js';

// Each case but the first keeps sed on PATH: what it checks is its own step, not the decoding.

// Short arguments that every quoting rule would trip over.
const SHORT_ARGS = ['', "'", "it's", '\\', 'a\nb', 'end\n\n', '%s%%', '$(x)`y`', 'héllo ☃']
  .map((text) => Buffer.from(text))
  .concat([Buffer.from([0x80, 0xc3, 0x28, 0xfe, 0xff, 0x01, 0x1f, 0x7f])]);

describe('the remote script does without processes it need not start', () => {
  const { dir, run } = useScriptRunner('sshstream-procs-');

  for (const shell of SHELLS) {
    it(`sh is ${shell}: short arguments are decoded without sed, byte-exact`, async () => {
      // yash reads text as characters of the locale: in C (as sshd may start it) a byte past
      // ASCII breaks its eval, as it did through sed: a gap of yash as sh, which no system ships.
      const args =
        shell === 'yash'
          ? SHORT_ARGS.filter((arg) => arg.every((byte) => byte < 0x80))
          : SHORT_ARGS;
      for (const arg of args) {
        const result = await run(shell, [], ['exec', 'printf', '%s\\0', arg]);
        assert.equal(result.status, 0, result.stderr);
        const expected = Buffer.concat([Buffer.from('T start\n'), arg, Buffer.from([0])]);
        assert.deepEqual(result.stdout, expected, JSON.stringify(arg.toString()));
      }
    });

    it(`sh is ${shell}: pull-control reports size and stamp without tr`, async () => {
      const file = join(dir(), `a b\nc-${shell}`);
      await writeFile(file, 'hello');
      const result = await run(
        shell,
        ['sed', 'stat', 'wc', 'md5sum'],
        ['pull-control', file, 'md5'],
      );
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout.toString(), /^T ready 5 5\.\S+_\n$/);
    });

    it(`sh is ${shell}: without stat, the stamp comes from ls and date, on one line`, async () => {
      const file = join(dir(), `x y\nz-${shell}`);
      await writeFile(file, 'hello');
      const stampOf = async () => {
        const result = await run(
          shell,
          ['sed', 'ls', 'date', 'wc', 'md5sum'],
          ['pull-control', file, 'md5'],
        );
        assert.equal(result.status, 0, result.stderr);
        const line = result.stdout.toString();
        assert.match(line, /^T ready \d+ \S+_\n$/);
        assert.ok(!line.includes('x_y'), 'the name is not part of the stamp');
        return line.split(' ')[3];
      };
      const first = await stampOf();
      assert.equal(await stampOf(), first);
      await writeFile(file, 'hello, world');
      assert.notEqual(await stampOf(), first);
    });

    it(`sh is ${shell}: a small push commits without wc`, async () => {
      const target = join(dir(), `small-${shell}`);
      const data = Buffer.from('small push\n');
      const digest = createHash('md5').update(data).digest('hex');
      const lines = `put ${data.length} ${encodePrintfFormat(data)}\ncommit ${data.length} ${digest}\n`;
      const tools = ['sed', 'md5sum', 'chmod', 'sync', 'mv', 'rm', 'sleep'];
      const result = await run(
        shell,
        tools,
        ['push-control', target, '0', 'md5', '', '', '0', '0'],
        lines,
      );
      assert.match(
        result.stdout.toString(),
        new RegExp(`^T committed 11 ${digest}$`, 'm'),
        result.stderr,
      );
      assert.deepEqual(await readFile(target), data);
    });
  }
});
