// A file whose reads fail with EIO, as on a failing disk: a tiny FUSE file system spoken
// straight over /dev/fuse (no libfuse), in a child process of its own. Root only.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A mounted file that gives `good` bytes, then EIO; `stop()` unmounts it. */
export interface EioFile {
  path: string;
  stop(): Promise<void>;
}

/**
 * Mounts, in a new directory under `dir`, a read-only file of `size` bytes whose first `good`
 * bytes read as zeros and whose next read fails with EIO.
 */
export async function mountEioFile(dir: string, size: number, good: number): Promise<EioFile> {
  // A new mount point each time: one lazily unmounted is not at once usable again.
  const mountpoint = await mkdtemp(join(dir, 'eio-'));
  const fuse = openSync('/dev/fuse', 'r+');
  let server: ChildProcess;
  try {
    server = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { serveEioFile } from ${JSON.stringify(import.meta.url)}; serveEioFile(3, ${size}, ${good});`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', fuse] },
    );
    const options = `fd=3,rootmode=40000,user_id=0,group_id=0`;
    // -i: no /sbin/mount.fuse helper, the kernel is asked directly; fd 3 is the connection.
    await new Promise<void>((resolve, reject) => {
      const mount = spawn('mount', ['-i', '-n', '-t', 'fuse', '-o', options, 'eio', mountpoint], {
        stdio: ['ignore', 'inherit', 'inherit', fuse],
      });
      mount.on('error', reject);
      mount.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mount: ${code}`))));
    });
  } finally {
    closeSync(fuse);
  }
  return {
    path: join(mountpoint, 'file'),
    async stop() {
      await run('umount', ['-l', mountpoint]).catch(() => {});
      server.kill('SIGKILL');
    },
  };
}

const OP = { lookup: 1, forget: 2, getattr: 3, open: 14, read: 15, release: 18 } as const;
const OP_FLUSH = 25;
const OP_INIT = 26;
const OP_INTERRUPT = 36;
const OP_DESTROY = 38;
const OP_BATCH_FORGET = 42;
const EIO = 5;
const ENOENT = 2;
const ENOSYS = 38;
const FOPEN_DIRECT_IO = 1;

/**
 * The file system's request loop, on FUSE connection `fd` (run by mountEioFile's child): the
 * root directory holds one file, `file`.
 */
export function serveEioFile(fd: number, size: number, good: number): void {
  const request = Buffer.alloc(1 << 21);
  for (;;) {
    let length: number;
    try {
      length = readSync(fd, request, 0, request.length, null);
    } catch {
      return; // ENODEV: unmounted
    }
    const opcode = request.readUInt32LE(4);
    const unique = request.readBigUInt64LE(8);
    const node = request.readBigUInt64LE(16);
    const body = request.subarray(40, length);
    const reply = (error: number, payload: Buffer = Buffer.alloc(0)) => {
      const header = Buffer.alloc(16);
      header.writeUInt32LE(16 + payload.length, 0);
      header.writeInt32LE(-error, 4);
      header.writeBigUInt64LE(unique, 8);
      writeSync(fd, Buffer.concat([header, payload]));
    };
    if (opcode === OP_INIT) {
      const out = Buffer.alloc(64);
      out.writeUInt32LE(7, 0);
      out.writeUInt32LE(Math.min(body.readUInt32LE(4), 31), 4);
      out.writeUInt32LE(body.readUInt32LE(8), 8); // max_readahead as asked
      out.writeUInt16LE(16, 16); // max_background
      out.writeUInt16LE(12, 18); // congestion_threshold
      out.writeUInt32LE(1 << 17, 20); // max_write
      out.writeUInt32LE(1, 24); // time_gran
      out.writeUInt16LE(32, 28); // max_pages
      reply(0, out);
    } else if (opcode === OP.lookup) {
      const name = body.subarray(0, body.indexOf(0)).toString();
      if (node !== 1n || name !== 'file') reply(ENOENT);
      else reply(0, Buffer.concat([entry(2n), attr(2n, size)]));
    } else if (opcode === OP.getattr) {
      reply(0, Buffer.concat([Buffer.alloc(16), attr(node, node === 1n ? -1 : size)]));
    } else if (opcode === OP.open) {
      const out = Buffer.alloc(16);
      out.writeUInt32LE(FOPEN_DIRECT_IO, 8);
      reply(0, out);
    } else if (opcode === OP.read) {
      const offset = Number(body.readBigUInt64LE(8));
      const wanted = body.readUInt32LE(16);
      if (offset >= size) reply(0);
      else if (offset >= good) reply(EIO);
      else reply(0, Buffer.alloc(Math.min(wanted, good - offset, size - offset)));
    } else if (opcode === OP.release || opcode === OP_FLUSH || opcode === OP_DESTROY) {
      reply(0);
    } else if (
      opcode !== OP.forget &&
      opcode !== OP_BATCH_FORGET &&
      opcode !== OP_INTERRUPT // these get no reply
    ) {
      reply(ENOSYS);
    }
  }
}

// fuse_entry_out up to its attributes: node id, generation, no caching of either.
function entry(node: bigint): Buffer {
  const out = Buffer.alloc(40);
  out.writeBigUInt64LE(node, 0);
  return out;
}

// fuse_attr: the root directory (size -1), or the file.
function attr(node: bigint, size: number): Buffer {
  const out = Buffer.alloc(88);
  out.writeBigUInt64LE(node, 0);
  out.writeBigUInt64LE(BigInt(Math.max(size, 0)), 8);
  out.writeUInt32LE(size < 0 ? 0o40755 : 0o100444, 60);
  out.writeUInt32LE(size < 0 ? 2 : 1, 64);
  out.writeUInt32LE(4096, 80); // blksize
  return out;
}
