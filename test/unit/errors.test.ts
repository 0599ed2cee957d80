// The error classes: one code and exit code per class, one message format, the cause kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AbortError,
  ConnectionError,
  EXIT_CODES,
  LocalIOError,
  RemoteIOError,
  SshStreamError,
  UsageError,
  VerificationError,
  exitCodeOf,
  isInternalError,
} from '../../lib/util/errors.js';

const context = { operation: 'push', target: 'web1:/srv/app.tar' };

describe('error classes', () => {
  const cases: [SshStreamError, string, string, number][] = [
    [new UsageError('bad', context), 'UsageError', 'ERR_SSHSTREAM_USAGE', 1],
    [new ConnectionError('bad', context), 'ConnectionError', 'ERR_SSHSTREAM_CONNECTION', 2],
    [
      new VerificationError('bad', { bytes: 1, digest: 'a' }, { bytes: 1, digest: 'b' }, context),
      'VerificationError',
      'ERR_SSHSTREAM_VERIFY',
      3,
    ],
    [new RemoteIOError('bad', context), 'RemoteIOError', 'ERR_SSHSTREAM_REMOTE_IO', 4],
    [new LocalIOError('bad', context), 'LocalIOError', 'ERR_SSHSTREAM_LOCAL_IO', 5],
    [new AbortError('bad', context), 'AbortError', 'ABORT_ERR', 130],
  ];
  for (const [error, name, code, exitCode] of cases) {
    it(`${name}: ${code}, exit ${exitCode}`, () => {
      assert.ok(error instanceof SshStreamError);
      assert.ok(error instanceof Error);
      assert.equal(error.name, name);
      assert.equal(error.code, code);
      assert.equal(error.exitCode, exitCode);
      assert.equal(exitCodeOf(error), exitCode);
      assert.equal(error.message, 'push web1:/srv/app.tar: bad');
      assert.equal(error.reason, 'bad');
      assert.equal(error.operation, 'push');
      assert.equal(error.target, 'web1:/srv/app.tar');
      assert.equal(isInternalError(error), false);
    });
  }

  it('keeps the cause', () => {
    const cause = new Error('EPIPE');
    const error = new RemoteIOError('write failed', { ...context, cause });
    assert.equal(error.cause, cause);
    assert.equal(new RemoteIOError('x').cause, undefined);
  });

  it('builds the message from what the context has', () => {
    assert.equal(new UsageError('bad').message, 'bad');
    assert.equal(new UsageError('bad', { operation: 'pull' }).message, 'pull: bad');
    assert.equal(new UsageError('bad', { target: 'h:/f' }).message, 'h:/f: bad');
  });

  it('escapes control characters of the target in the message', () => {
    const error = new UsageError('bad', { operation: 'push', target: 'h:/a\x1b[2Jb\n' });
    assert.equal(error.message, 'push h:/a\\x1b[2Jb\\n: bad');
    assert.equal(error.target, 'h:/a\x1b[2Jb\n'); // the raw text stays available
  });

  it('VerificationError carries both counts and digests', () => {
    const error = new VerificationError(
      'differ',
      { bytes: 3, digest: 'aa' },
      { bytes: 4, digest: 'bb' },
    );
    assert.deepEqual(error.expected, { bytes: 3, digest: 'aa' });
    assert.deepEqual(error.actual, { bytes: 4, digest: 'bb' });
  });

  it('AbortError exits 128 + the signal number', () => {
    assert.equal(new AbortError().message, 'interrupted');
    assert.equal(new AbortError(undefined, {}, 'SIGINT').exitCode, 130);
    assert.equal(new AbortError(undefined, {}, 'SIGTERM').exitCode, 143);
    assert.equal(new AbortError(undefined, {}, 'SIGHUP').exitCode, 129);
    assert.equal(new AbortError(undefined, {}, 'SIGUSR1').exitCode, 130);
  });
});

describe('ConnectionError.retryable', () => {
  const permanent = [
    'Permission denied (publickey).',
    'Host key verification failed.',
    'ssh: Could not resolve hostname nohost: Name or service not known',
    'Received disconnect: Too many authentication failures',
    'Unable to negotiate: no matching host key type found',
    '/etc/ssh/ssh_config: line 3: Bad configuration option: foo',
    'WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!',
    'cannot run ssh: ENOENT',
  ];
  for (const reason of permanent) {
    it(`not retryable: ${reason}`, () => {
      assert.equal(new ConnectionError(reason).retryable, false);
    });
  }
  for (const reason of ['Connection reset by peer', 'Connection timed out', 'Broken pipe']) {
    it(`retryable: ${reason}`, () => {
      assert.equal(new ConnectionError(reason).retryable, true);
    });
  }
});

describe('exitCodeOf and isInternalError', () => {
  it('a failed system call is local I/O, not internal', () => {
    const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC', errno: -28 });
    assert.equal(exitCodeOf(enospc), EXIT_CODES.localIo);
    assert.equal(isInternalError(enospc), false);
    assert.equal(exitCodeOf(Object.assign(new Error('x'), { code: 'EIO' })), 5);
  });

  it('anything else is a bug: exit 70', () => {
    assert.equal(exitCodeOf(new Error('plain')), EXIT_CODES.internal);
    assert.equal(exitCodeOf('a string'), 70);
    assert.equal(exitCodeOf(undefined), 70);
    assert.equal(exitCodeOf(Object.assign(new Error('x'), { code: 'ERR_STREAM_DESTROYED' })), 70);
  });

  it('programming errors are internal, other errors are not', () => {
    assert.equal(isInternalError(new TypeError('x')), true);
    assert.equal(isInternalError(new RangeError('x')), true);
    assert.equal(isInternalError(new ReferenceError('x')), true);
    assert.equal(isInternalError(new SyntaxError('x')), true);
    assert.equal(isInternalError(new Error('x')), false);
    assert.equal(isInternalError(Object.assign(new TypeError('x'), { code: 'EPIPE' })), false);
  });
});
