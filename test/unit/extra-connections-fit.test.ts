// ControlConnection.keepExtras fits the connections opened early (after a long login, on the
// round trip the login suggested) to the lanes the transfer then chose: it ends those beyond
// and opens those it lacks. A stand-in connection whose "ssh" makes its socket at once, or
// when the test says.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SshProcess } from '../../lib/ssh/command.js';
import type { ControlConnection } from '../../lib/ssh/control-connection.js';
import { ExtraConnections } from '../../lib/ssh/extra-connections.js';

describe('ExtraConnections: trim and grow', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-extras-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // Each spawned "master" logs in at once (its socket appears), or with `held` once
  // logIn(name) is called, and exits when killed.
  function standIn(prefix: string, held = false, probeFirst = false) {
    const spawned: string[] = [];
    const killed: string[] = [];
    const logIn = (name: string) => writeFile(join(dir, `${prefix}-${name}`), '');
    const failures = new Map<string, () => void>();
    const control = {
      acceptsSessions: true,
      extrasMayLogIn: () => Promise.resolve(true),
      extrasProbeFirst: () => Promise.resolve(probeFirst),
      spawnExtraMaster(name: string) {
        const socket = join(dir, `${prefix}-${name}`);
        spawned.push(name);
        if (!held) void logIn(name);
        let exit: (result: { exitCode: number }) => void = () => {};
        failures.set(name, () => {
          master.exitCode = 255;
          exit({ exitCode: 255 });
        });
        const master = Object.assign(new Promise((resolve) => (exit = resolve)), {
          exitCode: null as number | null,
          pid: undefined,
          kill() {
            killed.push(name);
            master.exitCode = 143;
            exit({ exitCode: 143 });
            return true;
          },
        });
        return { master: master as unknown as SshProcess, socket };
      },
    };
    // A login that fails: ssh exits 255 without making its socket.
    const refuse = (name: string) => failures.get(name)?.();
    return { control: control as unknown as ControlConnection, spawned, killed, logIn, refuse };
  }

  it('grow opens the lanes it lacks; trim ends those beyond, started or not', async () => {
    const { control, spawned, killed } = standIn('a');
    const extra = new ExtraConnections(control, 3); // lanes 1 and 2
    extra.grow(5); // lanes 3 and 4
    const never = new Promise<never>(() => {});
    const sockets = await Promise.all([1, 2, 3, 4].map((lane) => extra.socketOf(lane, never)));
    assert.ok(
      sockets.every((socket) => socket !== undefined),
      String(sockets),
    );
    assert.deepEqual(spawned.sort(), ['lane-1', 'lane-2', 'lane-3', 'lane-4']);
    extra.trim(2);
    assert.deepEqual(killed.sort(), ['lane-2', 'lane-3', 'lane-4']);
    await extra.close();
  });

  it('grow to fewer lanes than it has, or once closed, opens nothing', async () => {
    const { control, spawned } = standIn('b');
    const extra = new ExtraConnections(control, 4);
    const never = new Promise<never>(() => {});
    await Promise.all([1, 2, 3].map((lane) => extra.socketOf(lane, never)));
    extra.grow(2);
    await extra.close();
    extra.grow(8);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(spawned.sort(), ['lane-1', 'lane-2', 'lane-3']);
  });

  // A connection cut off before it has logged in counts against the client's address on the
  // server (OpenSSH 9.8+ PerSourcePenalties): one found unneeded while it logs in ends once it
  // has, and only an abort cuts one short.
  it('trim ends a lane still logging in only once it has logged in', async () => {
    const { control, spawned, killed, logIn } = standIn('c', true);
    const extra = new ExtraConnections(control, 3);
    await waitUntil(() => spawned.length === 2);
    extra.trim(1);
    await sleep(50);
    assert.deepEqual(killed, []);
    await logIn('lane-2');
    await waitUntil(() => killed.length === 1);
    assert.deepEqual(killed, ['lane-2']);
    assert.equal(await extra.socketOf(2, new Promise<never>(() => {})), undefined);
    await logIn('lane-1');
    await extra.close();
    assert.deepEqual(killed.sort(), ['lane-1', 'lane-2']);
  });

  it('close waits for a login to settle; close(true) ends it at once', async () => {
    const { control, killed, logIn, spawned } = standIn('d', true);
    const extra = new ExtraConnections(control, 2);
    await waitUntil(() => spawned.length === 1);
    let closed = false;
    const closing = extra.close().then(() => (closed = true));
    await sleep(50);
    assert.equal(closed, false);
    assert.deepEqual(killed, []);
    await logIn('lane-1');
    await closing;
    assert.deepEqual(killed, ['lane-1']);

    const aborted = standIn('e', true);
    const other = new ExtraConnections(aborted.control, 2);
    await waitUntil(() => aborted.spawned.length === 1);
    await other.close(true);
    assert.deepEqual(aborted.killed, ['lane-1']);
  });

  // A key the server refuses, where the user then typed a password for the first connection:
  // each lane's login would fail alike, a failed login the server may count against us.
  it('where the first login may have asked, lane 1 tries before the others', async () => {
    const refused = standIn('f', true, true);
    const extra = new ExtraConnections(refused.control, 4);
    const taken = standIn('g', true, true);
    const other = new ExtraConnections(taken.control, 3);
    try {
      await sleep(100);
      assert.deepEqual(refused.spawned, ['lane-1']);
      refused.refuse('lane-1');
      const giveUp = sleep(3000);
      const sockets = await Promise.all([1, 2, 3].map((lane) => extra.socketOf(lane, giveUp)));
      assert.deepEqual(sockets, [undefined, undefined, undefined]);
      assert.deepEqual(refused.spawned, ['lane-1']);

      assert.deepEqual(taken.spawned, ['lane-1']);
      await taken.logIn('lane-1');
      await waitUntil(() => taken.spawned.length === 2);
      await taken.logIn('lane-2');
      const up = await Promise.all([1, 2].map((lane) => other.socketOf(lane, sleep(3000))));
      assert.ok(
        up.every((socket) => socket !== undefined),
        String(up),
      );
    } finally {
      await Promise.all([extra.close(true), other.close(true)]);
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(10);
  assert.ok(condition(), 'timed out');
}
