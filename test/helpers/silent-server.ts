import { createServer, type Socket } from 'node:net';

/** A TCP listener on 127.0.0.1 that accepts connections and never says a word. */
export interface SilentServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Resolves once at least `count` connections were accepted. */
  connected(count?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a server that stands for an SSH server which never answers: ssh connects and then
 * waits for its banner (as behind a black-holing firewall or a hung sshd).
 */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const waiters: { count: number; resolve: () => void }[] = [];
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    for (const waiter of waiters.filter((w) => accepted >= w.count)) waiter.resolve();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    connected: (count = 1) =>
      accepted >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
