// checkPush and modeArgument: bad arguments of a push are refused synchronously, before any work.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../lib/util/errors.js';
import { checkPush, modeArgument } from '../../lib/push/options.js';
import type { DirectInput } from '../../lib/push/direct-input.js';

const usage = (message: RegExp) => ({
  name: 'UsageError',
  code: 'ERR_SSHSTREAM_USAGE',
  exitCode: 1,
  message,
});

const direct: DirectInput = { fd: 0, start: 0 };

describe('checkPush', () => {
  it('returns the parsed target and the error context', () => {
    const { target, context } = checkPush('deploy@web1:/srv/app.tar', { mode: '640' });
    assert.deepEqual(target, {
      user: 'deploy',
      host: 'web1',
      path: '/srv/app.tar',
      display: 'deploy@web1:/srv/app.tar',
    });
    assert.deepEqual(context, { operation: 'push', target: 'deploy@web1:/srv/app.tar' });
  });

  it('refuses a target without a path', () => {
    assert.throws(() => checkPush('web1', {}), usage(/^push web1: expected \[user@\]host:path$/));
  });

  it('refuses a host that ssh would read as an option', () => {
    assert.throws(
      () => checkPush('-oProxyCommand=x:/f', {}),
      usage(/^push -oProxyCommand=x:\/f: refused host "-oProxyCommand=x"/),
    );
  });

  // '18' and '78' would read as 1 and 7 with parseInt(mode, 8): octal digits only.
  for (const mode of ['999', 'rw', '12345', '-1', '', '18', '78', '0o644']) {
    it(`refuses the mode ${JSON.stringify(mode)}, naming the target`, () => {
      assert.throws(
        () => checkPush('web1:/f', { mode }),
        usage(new RegExp(`^push web1:/f: invalid mode "${mode}": expected octal like 644$`)),
      );
    });
  }

  it('refuses a compression level without a fixed format', () => {
    assert.throws(
      () => checkPush('web1:/f', { compress: 'auto', compressLevel: 3 }),
      usage(/^push web1:\/f: compressLevel needs a fixed compression/),
    );
  });

  it('refuses a jump host that is not one', () => {
    assert.throws(
      () => checkPush('web1:/f', { jump: '-oProxyCommand=x' }),
      usage(/refused jump host "-oProxyCommand=x"/),
    );
  });

  for (const [name, extra] of [
    ['compress', { compress: 'gzip' }],
    ['limitRate', { limitRate: 1000 }],
  ] as const) {
    it(`refuses a direct input with ${name}`, () => {
      assert.throws(
        () => checkPush('web1:/f', { direct, ...extra }),
        usage(/^push web1:\/f: a direct input cannot be combined with compress or limitRate$/),
      );
    });
  }

  // It resumes range by range, by offsets from the start of the file.
  it('takes resume with a direct input only from the start of its file', () => {
    checkPush('web1:/f', { direct: { fd: 0, start: 0 }, resume: true });
    assert.throws(
      () => checkPush('web1:/f', { direct: { fd: 0, start: 10 }, resume: true }),
      usage(/^push web1:\/f: a direct input resumes only from the start of its file$/),
    );
  });

  it('takes a direct input alone', () => {
    assert.equal(checkPush('web1:/f', { direct }).target.path, '/f');
  });

  it("takes a direct input with a given digest (a fan-out's copy of its input)", () => {
    const digestSource = () => Promise.resolve('');
    assert.equal(checkPush('web1:/f', { direct, digestSource }).target.path, '/f');
  });
});

describe('modeArgument', () => {
  const context = { operation: 'push', target: 'h:/f' };
  const cases: [number | string | undefined, string][] = [
    [undefined, ''],
    ['644', '644'],
    ['0644', '644'],
    ['7777', '7777'],
    ['0', '0'],
    [0o640, '640'],
    [0o4755, '4755'],
    [0, '0'],
  ];
  for (const [mode, expected] of cases) {
    it(`${typeof mode === 'number' ? `0o${mode.toString(8)}` : String(mode)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(modeArgument(mode, context), expected);
    });
  }

  for (const mode of [0o10000, -1, 1.5, NaN, '8', '0x1a4', ' 644']) {
    it(`refuses ${String(mode)}`, () => {
      assert.throws(() => modeArgument(mode, context), UsageError);
      assert.throws(() => modeArgument(mode, context), usage(/^push h:\/f: invalid mode /));
    });
  }
});
