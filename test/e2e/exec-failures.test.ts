// The exec primitive's failures reach the caller as typed errors: a login shell that prints
// more than the header reader accepts (a pull's too), and an AbortSignal (an abort, not a lost
// connection).
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { AbortError, RemoteIOError, createExecStream, execRemote, pull } from '../../lib/index.js';
import { useSandbox } from '../helpers/sandbox.js';
import { sink } from '../helpers/streams.js';
import { useBashUser } from '../helpers/shell-users.js';

const sandbox = useSandbox();
const ssh = () => ({ config: sandbox.current.configPath });

describe('exec: login noise over the 1 MiB limit', () => {
  // 1.5 MiB of noise on stdout, without a newline, before every command.
  const noisy = useBashUser('sshstream-noisy-huge', "head -c 1572864 /dev/zero | tr '\\0' x\n");

  it('errors the pipeline with a RemoteIOError instead of throwing', async (t) => {
    const user = noisy.loginAs(t);
    if (!user) return;
    const stream = createExecStream(`${user.name}@${sandbox.current.host}`, ['echo', 'hi'], ssh());
    await assert.rejects(pipeline(Readable.from([]), stream, sink()), (error: unknown) => {
      assert.ok(error instanceof RemoteIOError, String(error));
      assert.equal(error.exitCode, 4);
      assert.match(error.message, /^exec sandbox: no data header from the remote side/);
      return true;
    });
  });

  it('a pull through it rejects with a RemoteIOError too, and writes nothing', async (t) => {
    const user = noisy.loginAs(t);
    if (!user) return;
    const out = sink();
    const source = `${user.name}@${sandbox.current.host}:/etc/hostname`;
    await assert.rejects(pull(source, out, ssh()), (error: unknown) => {
      assert.ok(error instanceof RemoteIOError, String(error));
      assert.equal(error.exitCode, 4);
      assert.match(error.message, /^pull .*: no data header from the remote side/);
      return true;
    });
    assert.equal(out.data().length, 0);
  });
});

describe('exec: aborting', () => {
  it('execRemote rejects with AbortError (exit 130)', async () => {
    const controller = new AbortController();
    const running = execRemote(sandbox.current.host, ['sleep', '30'], {
      ...ssh(),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 500);
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof AbortError, String(error));
      assert.equal(error.exitCode, 130);
      return true;
    });
  });

  it('createExecStream errors with AbortError (exit 130)', async () => {
    const controller = new AbortController();
    const stream = createExecStream(sandbox.current.host, ['sleep', '30'], {
      ...ssh(),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 500);
    await assert.rejects(pipeline(Readable.from([]), stream, sink()), (error: unknown) => {
      assert.ok(error instanceof AbortError, String(error));
      assert.equal(error.exitCode, 130);
      return true;
    });
  });
});
