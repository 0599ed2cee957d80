// parseTarget: `[user@]host:path` and `[user@][v6]:path`, refusing what ssh or a shell could misread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSafeHost, isSafeUser, parseTarget } from '../../lib/ssh/target.js';

describe('parseTarget', () => {
  const parsed: [string, string | undefined, string, string][] = [
    ['web1:/srv/app.tar', undefined, 'web1', '/srv/app.tar'],
    ['deploy@web1:/srv/app.tar', 'deploy', 'web1', '/srv/app.tar'],
    ['web1:relative/file', undefined, 'web1', 'relative/file'],
    ['10.0.0.7:/f', undefined, '10.0.0.7', '/f'],
    ['[::1]:/f', undefined, '::1', '/f'],
    ['me@[fe80::1%eth0]:/f', 'me', 'fe80::1%eth0', '/f'],
    // Only the first ':' after the host ends it: the path keeps its own ':' and '@'.
    ['web1:/a:b@c', undefined, 'web1', '/a:b@c'],
    ['u@h:p@q', 'u', 'h', 'p@q'],
    ['machine$@h:/f', 'machine$', 'h', '/f'],
    ['h: leading space', undefined, 'h', ' leading space'],
  ];
  for (const [spec, user, host, path] of parsed) {
    it(`parses ${spec}`, () => {
      assert.deepEqual(parseTarget(spec, 'push'), { user, host, path, display: spec });
    });
  }

  const refused: [string, RegExp][] = [
    ['web1', /^push web1: expected \[user@\]host:path$/],
    ['web1:', /^push web1:: no remote path after ":"$/],
    ['-oProxyCommand=id:/f', /: refused host "-oProxyCommand=id": not a host name/],
    ['[::1/f', /: expected \[address\]:path$/],
    ['[::1]/f', /: expected \[address\]:path$/],
    ['[-x]:/f', /: refused host "-x"/],
    [':/f', /: refused host ""/],
    // A ':' before the '@' of `user@[v6]:path` is in the user name, not the end of a host.
    ['a:b@[::1]:/f', /: refused user name "a:b"/],
    ['-l@h:/f', /: refused user name "-l": not a plain login name$/],
    ['a b@h:/f', /: refused user name "a b"/],
    ['ho$(id):/f', /: refused host "ho\$\(id\)"/],
    ['h:/a\0b', /: target contains a NUL byte$/],
    ['h:/\ud800', /: target is not valid Unicode \(a lone surrogate\)$/],
    // The message quotes the user's text with its control characters made visible.
    ['h\x1b[2J:/f', /^push h\\x1b\[2J:\/f: refused host "h\\x1b\[2J"/],
  ];
  for (const [spec, message] of refused) {
    it(`refuses ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseTarget(spec, 'push'), {
        name: 'UsageError',
        code: 'ERR_SSHSTREAM_USAGE',
        exitCode: 1,
        operation: 'push',
        target: spec,
        message,
      });
    });
  }

  it('refuses a target that is not a string', () => {
    assert.throws(() => parseTarget(42 as unknown as string, 'pull'), {
      name: 'UsageError',
      message: 'pull: target must be a string, not number',
    });
  });
});

describe('isSafeHost and isSafeUser', () => {
  it('take names, aliases and addresses', () => {
    for (const host of ['web1', 'a.b-c_d', '127.0.0.1', '::1', '2001:db8::7', 'fe80::1%eth0']) {
      assert.equal(isSafeHost(host), true, host);
    }
    for (const user of ['root', 'deploy.user', 'svc-1', 'PC$']) {
      assert.equal(isSafeUser(user), true, user);
    }
  });

  it('refuse option-like or shell-like text', () => {
    for (const host of ['-p', '.hidden', 'a b', 'h;id', 'a:b;c', '', '[::1]']) {
      assert.equal(isSafeHost(host), false, host);
    }
    for (const user of ['-l', 'a b', '%r', 'a$b', '']) {
      assert.equal(isSafeUser(user), false, user);
    }
  });
});
