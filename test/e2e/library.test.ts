import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import {
  AbortError,
  ConnectionError,
  RemoteCommandError,
  RemoteIOError,
  UsageError,
  createExecStream,
  createPullStream,
  createPushStream,
  execRemote,
  pull,
  push,
  transforms,
} from '../../lib/index.js';
import { leftovers, md5, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
const ssh = () => ({ config: sandbox.current.configPath });

// A source that never ends by itself: the transfer is mid-stream for as long as we like.
function endless(): Readable {
  return new Readable({
    read() {
      setTimeout(() => this.push(randomBytes(64 * 1024)), 5);
    },
  });
}

describe('library API (real sshd)', () => {
  it('createPushStream with gzip resolves the pipeline only after commit; .result has the digest', async () => {
    const dir = await sandbox.fresh();
    const data = Buffer.from('compressible line\n'.repeat(100_000));
    const stream = createPushStream(`${sandbox.current.host}:${dir}/f`, {
      ...ssh(),
      compress: 'gzip',
    });
    await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), stream);
    assert.deepEqual(await readFile(join(dir, 'f')), data);
    const result = await stream.result;
    assert.equal(result.bytes, data.length);
    assert.equal(result.md5, md5(data));
    assert.equal(result.digest, md5(data));
    assert.equal(result.compress, 'gzip');
    assert.equal(result.verified, true);
    assert.ok(result.seconds > 0);
  });

  it('bad arguments throw synchronously with UsageError (exit class 1)', () => {
    assert.throws(
      () => createPushStream('-oProxyCommand=x:y'),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.code, 'ERR_SSHSTREAM_USAGE');
        assert.equal(error.exitCode, 1);
        return true;
      },
    );
    assert.throws(() => createPushStream('host:x', { mode: 'rw-' }), UsageError);
    assert.throws(() => createPullStream('no-colon'), UsageError);
  });

  it('a remote failure rejects the pipeline with a typed error naming the target', async () => {
    const dir = await sandbox.fresh();
    const target = `${sandbox.current.host}:${dir}/missing/f`;
    const stream = createPushStream(target, ssh());
    await assert.rejects(pipeline(Readable.from(['x']), stream), (error: unknown) => {
      assert.ok(error instanceof RemoteIOError);
      assert.equal(error.code, 'ERR_SSHSTREAM_REMOTE_IO');
      assert.equal(error.exitCode, 4);
      assert.equal(error.message, `push ${target}: no such directory (use --mkdir to create it)`);
      return true;
    });
    await assert.rejects(stream.result, RemoteIOError);
  });

  it('an unreachable host rejects with ConnectionError (exit class 2)', async () => {
    const stream = createPushStream(`${sandbox.current.host}:/tmp/x`, { ...ssh(), port: 1 });
    await assert.rejects(pipeline(Readable.from(['x']), stream), (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.exitCode, 2);
      return true;
    });
  });

  it('AbortSignal mid-push kills ssh, removes the temporary file and rejects with AbortError', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'f'), 'before');
    const controller = new AbortController();
    const stream = createPushStream(`${sandbox.current.host}:${dir}/f`, {
      ...ssh(),
      signal: controller.signal,
    });
    const connected = once(stream, 'connected');
    const transfer = pipeline(endless(), stream);
    // Mid-push: connected, and bytes landing. (An abort while connecting kills ssh, and the
    // remote side then cleans up on its own a moment later: see connect-abort.test.)
    await connected;
    await waitFor(async () => (await leftovers(dir)).length >= 1);
    controller.abort();
    await assert.rejects(transfer, (error: unknown) => {
      assert.ok(error instanceof AbortError);
      assert.equal(error.code, 'ABORT_ERR');
      assert.equal(error.exitCode, 130);
      return true;
    });
    assert.equal(await readFile(join(dir, 'f'), 'utf8'), 'before');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('AbortSignal mid-pull errors the stream with AbortError and leaves no local file', async () => {
    const dir = await sandbox.fresh();
    await writeFile(join(dir, 'big'), randomBytes(8 * 1024 * 1024));
    const controller = new AbortController();
    const local = join(dir, 'local');
    const pulling = pull(`${sandbox.current.host}:${dir}/big`, local, {
      ...ssh(),
      signal: controller.signal,
      limitRate: 1024 * 1024,
    });
    await waitFor(async () => (await leftovers(dir)).length >= 1);
    controller.abort();
    await assert.rejects(pulling, AbortError);
    assert.deepEqual(await leftovers(dir), []);
    await assert.rejects(readFile(local), { code: 'ENOENT' });
  });

  it('createPullStream reads the remote file and reports the verified size and digest', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(1_234_567);
    await writeFile(join(dir, 'src'), data);
    const stream = createPullStream(`${sandbox.current.host}:${dir}/src`, {
      ...ssh(),
      checksum: 'sha256',
    });
    // A Readable only: nothing may be written into a pull.
    assert.ok(stream instanceof Readable);
    assert.ok(!(stream instanceof Writable), 'the pull stream has a writable side');
    let announced: number | undefined;
    stream.on('size', (size) => (announced = size));
    const chunks: Buffer[] = [];
    await pipeline(
      stream,
      new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }),
    );
    assert.equal(md5(Buffer.concat(chunks)), md5(data));
    assert.equal(announced, data.length);
    const result = await stream.result;
    assert.equal(result.bytes, data.length);
    assert.equal(result.algorithm, 'sha256');
  });

  it('a pull nobody reads still errors when the remote side fails', async () => {
    const dir = await sandbox.fresh();
    const stream = createPullStream(`${sandbox.current.host}:${dir}/missing`, ssh());
    // Waiting for 'error' itself: once() resolves with it instead of rejecting.
    const [error] = (await once(stream, 'error')) as [unknown];
    assert.ok(error instanceof RemoteIOError, String(error));
    assert.match(error.message, /no such file/);
    await assert.rejects(stream.result, RemoteIOError);
  });

  it('push() and pull() take local paths; pull writes the file atomically', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(200_000);
    await writeFile(join(dir, 'local-in'), data);
    const pushed = await push(
      join(dir, 'local-in'),
      `${sandbox.current.host}:${dir}/remote`,
      ssh(),
    );
    assert.equal(pushed.md5, md5(data));
    const pulled = await pull(
      `${sandbox.current.host}:${dir}/remote`,
      join(dir, 'local-out'),
      ssh(),
    );
    assert.equal(pulled.bytes, data.length);
    assert.deepEqual(await readFile(join(dir, 'local-out')), data);
    await assert.rejects(
      push(join(dir, 'no-such-input'), `${sandbox.current.host}:${dir}/x`, ssh()),
      {
        code: 'ERR_SSHSTREAM_LOCAL_IO',
        exitCode: 5,
      },
    );
    assert.deepEqual(await leftovers(dir), []);
  });

  it('the exec Duplex carries stdin and stdout; an argv runs without remote shell parsing', async () => {
    const output = new PassThrough();
    const collected: Buffer[] = [];
    output.on('data', (chunk: Buffer) => collected.push(chunk));
    await pipeline(
      Readable.from(['b\n', 'a\n', 'c\n']),
      createExecStream(sandbox.current.host, ['sort'], ssh()),
      output,
    );
    assert.equal(Buffer.concat(collected).toString(), 'a\nb\nc\n');
    const literal = await execRemote(
      sandbox.current.host,
      ['printf', '%s', '$(id) `id` ; | & \' " \\ \n'],
      ssh(),
    );
    assert.equal(literal.stdout.toString(), '$(id) `id` ; | & \' " \\ \n');
  });

  it('an argv whose command begins with "-" is refused before ssh runs', () => {
    assert.throws(() => createExecStream(sandbox.current.host, ['-c', 'id'], ssh()), UsageError);
  });

  it('a failing remote command errors the Duplex with status and stderr', async () => {
    const stream = createExecStream(sandbox.current.host, 'echo oops >&2; exit 44', ssh());
    await assert.rejects(
      pipeline(Readable.from([]), stream, new PassThrough().resume()),
      (error: unknown) => {
        assert.ok(error instanceof RemoteCommandError);
        assert.equal(error.status, 44);
        assert.equal(error.stderr.toString().trim(), 'oops');
        assert.match(error.message, /exited with status 44: oops/);
        return true;
      },
    );
    await assert.rejects(execRemote(sandbox.current.host, 'exit 1', ssh()), { status: 1 });
    await assert.rejects(
      execRemote(sandbox.current.host, 'true', { ...ssh(), port: 1 }),
      ConnectionError,
    );
  });

  it('a transform chain composes into one Duplex inside a push', async () => {
    const dir = await sandbox.fresh();
    const data = randomBytes(300_000);
    const counter = transforms.createChecksum('sha1');
    const chain = transforms.chain(counter, new PassThrough());
    const stream = createPushStream(`${sandbox.current.host}:${dir}/f`, ssh());
    await pipeline(Readable.from([data]), chain, stream);
    assert.equal((await counter.result).bytes, data.length);
    assert.deepEqual(await readFile(join(dir, 'f')), data);
  });
});
