import { readFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type { ServerCommand } from './dropbear.js';
import { hasExited, launchServer, terminate, type Sshd } from './server-process.js';

const READY_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

// Let the kernel pick a free port; sshd binds it a moment later (startSandbox retries on a race).
const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
};

// A listening socket is not enough: only the SSH banner proves sshd accepts and serves connections.
const readsBanner = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.length >= 4) finish(received.startsWith('SSH-'));
    });
  });

// The pid file check makes sure the banner came from our sshd, not another server on a reused port.
const isOurs = async (pidPath: string, child: ChildProcess): Promise<boolean> => {
  const pid = await readFile(pidPath, 'utf8').catch(() => '');
  return pid.trim() === String(child.pid);
};

const waitUntilReady = async (sshd: Sshd, port: number, pidPath: string): Promise<void> => {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited(sshd.child) || sshd.child.pid === undefined) {
      await sshd.exited;
      throw new Error(`sshd exited early (${sshd.child.exitCode}): ${sshd.stderr().trim()}`);
    }
    if ((await isOurs(pidPath, sshd.child)) && (await readsBanner(port))) return;
    await sleep(50);
  }
  throw new Error(`sshd not ready on port ${port} after ${READY_TIMEOUT_MS} ms: ${sshd.stderr()}`);
};

/**
 * Starts the server (with `env` added to ours) on a free port and waits until it serves SSH
 * there. Free ports can be taken between probing and binding, so retry on "Address already in use".
 */
export const startServer = async (
  dir: string,
  commandFor: (port: number) => Promise<ServerCommand>,
  env?: Record<string, string>,
): Promise<{ sshd: Sshd; port: number }> => {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = launchServer(await commandFor(port), env);
    try {
      await waitUntilReady(server, port, join(dir, 'sshd.pid'));
      return { sshd: server, port };
    } catch (error) {
      await terminate(server);
      if (attempt >= PORT_ATTEMPTS || !server.stderr().includes('Address already in use')) {
        throw error;
      }
    }
  }
};
