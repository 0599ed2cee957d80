// What the remote side hashes. A push hashes the bytes in the temporary file, read back from it
// as they land (remote.sh read_back), not the stream on its way in: a byte that changes in the
// file is caught. A pull hashes the bytes it sends in one read; its count is the file's size
// only when it could not have changed, and a file that is not a regular one (a FIFO) has no
// size: the digest alone vouches for it, or, without a digest, a count of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, settled, startCli } from '../helpers/cli.js';
import { leftovers, waitFor } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
const cfg = () => ['-F', sandbox.current.configPath];
const at = (path: string): string => `${sandbox.current.host}:${path}`;
let n = 0;
const fresh = async (): Promise<string> => {
  const dir = join(sandbox.current.scratch, `read-back-${n++}`);
  await mkdir(dir);
  return dir;
};
const MiB = 1 << 20;

// The size of the push's temporary file in `dir`, 0 while there is none.
async function temporarySize(dir: string): Promise<{ path: string; size: number } | undefined> {
  const name = (await readdir(dir)).find((file) => /^\.out\.sshstream-.*\.tmp$/.test(file));
  if (name === undefined) return undefined;
  const size = (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
  return { path: join(dir, name), size };
}

// Writes `data` into the FIFO `path` once a reader opens it (a child, so nothing here blocks).
function feedFifo(path: string, data: Buffer): Promise<void> {
  const writer = spawn('sh', ['-c', 'cat > "$0"', path], { stdio: ['pipe', 'ignore', 'ignore'] });
  writer.stdin.end(data);
  return new Promise((resolve) => writer.once('close', () => resolve()));
}

describe('what the remote side hashes (real sshd)', () => {
  it('push: a byte changed in the remote temporary file while it arrives fails the commit', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'out'), 'original');
    // The change goes into the second MiB, which stays incomplete until the end (the hash
    // reads whole MiBs as they land, and the rest last); slow enough to change it in time.
    const data = randomBytes(2 * MiB - 1);
    const run = startCli(['push', ...cfg(), '--limit-rate', '128K', at(`${dir}/out`)]);
    run.child.stdin!.end(data);
    let landed: { path: string; size: number } | undefined;
    await waitFor(async () => {
      landed = await temporarySize(dir);
      return landed !== undefined && landed.size > MiB + 4096;
    });
    const file = await open(landed!.path, 'r+');
    try {
      await file.write(Buffer.from([data[MiB + 1]! ^ 0xff]), 0, 1, MiB + 1);
    } finally {
      await file.close();
    }
    const result = await settled(run, undefined, 120_000);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /verification failed|mismatch/i);
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'original');
    await waitFor(async () => (await leftovers(dir)).length === 0, 10_000);
  });

  for (const checksum of ['md5', 'none']) {
    it(`pull --checksum ${checksum}: a FIFO (no size) arrives whole and verified`, async () => {
      const dir = await fresh();
      const fifo = join(dir, 'fifo');
      const made = spawn('mkfifo', [fifo]);
      await new Promise((resolve) => made.once('close', resolve));
      const data = randomBytes(3 * MiB + 5);
      const fed = feedFifo(fifo, data);
      const result = await runCli(['pull', ...cfg(), '--checksum', checksum, at(fifo)]);
      await fed;
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.stdout.equals(data), 'the pulled bytes differ from those written');
      assert.match(result.stderr, checksum === 'none' ? /byte count verified/ : /verified/);
    });
  }
});
