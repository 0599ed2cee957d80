// hashRange: the one loop that hashes a local file, or a range of it, by path or descriptor;
// hashGrowingFile: the same while a writer still appends to it (ssh writing a pull).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { hashGrowingFile, hashRange } from '../../lib/util/hash-range.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('hashRange', () => {
  // Over two of its 1 MiB reads, and not a multiple of them.
  const data = randomBytes(2.5 * 1024 * 1024 + 7);
  let dir = '';
  let file = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-hash-range-'));
    file = join(dir, 'data');
    await writeFile(file, data);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('hashes a whole file by path', async () => {
    const { bytes, hash } = await hashRange(file, 'sha256');
    assert.equal(bytes, data.length);
    assert.equal(hash?.digest('hex'), sha256(data));
  });

  const ranges: [string, { start?: number; end?: number }, Buffer][] = [
    ['a prefix', { end: 1_500_000 }, data.subarray(0, 1_500_000)],
    ['a suffix', { start: 1_048_577 }, data.subarray(1_048_577)],
    ['a middle', { start: 3, end: 2_000_003 }, data.subarray(3, 2_000_003)],
    ['an empty range', { start: 10, end: 10 }, Buffer.alloc(0)],
    [
      'a range past the end (fewer bytes)',
      { start: data.length - 5, end: data.length + 100 },
      data.subarray(-5),
    ],
  ];
  for (const [label, range, expected] of ranges) {
    it(`hashes ${label}`, async () => {
      const { bytes, hash } = await hashRange(file, 'sha256', range);
      assert.equal(bytes, expected.length);
      assert.equal(hash?.digest('hex'), sha256(expected));
    });
  }

  it("reads a descriptor with pread: the descriptor's own offset does not move", async () => {
    const fd = openSync(file, 'r');
    try {
      const first = Buffer.alloc(100);
      readSync(fd, first, 0, 100, null);
      const { bytes, hash } = await hashRange(fd, 'md5', { start: 0 });
      assert.equal(bytes, data.length);
      assert.equal(hash?.digest('hex'), createHash('md5').update(data).digest('hex'));
      const next = Buffer.alloc(100);
      readSync(fd, next, 0, 100, null);
      assert.ok(next.equals(data.subarray(100, 200)), 'the offset moved');
    } finally {
      closeSync(fd);
    }
  });

  it("'none' only counts, and the hash is left undigested for the caller to continue", async () => {
    assert.deepEqual(await hashRange(file, 'none', { end: 1000 }), {
      bytes: 1000,
      hash: undefined,
    });
    const { hash } = await hashRange(file, 'sha1', { end: 1000 });
    hash!.update(data.subarray(1000));
    assert.equal(hash!.digest('hex'), createHash('sha1').update(data).digest('hex'));
  });

  it('stops when asked', async () => {
    assert.equal((await hashRange(file, 'md5', {}, () => true)).bytes, 0);
  });

  it('rejects for a missing file', async () => {
    await assert.rejects(hashRange(join(dir, 'missing'), 'md5'), { code: 'ENOENT' });
  });
});

describe('hashGrowingFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-hash-growing-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // Appends `pieces` to a new file with pauses between them (the hash reaches the end and waits);
  // the last piece goes in right before the writer settles, with no pause.
  async function follow(name: string, pieces: Buffer[], fails = false) {
    const file = join(dir, name);
    await writeFile(file, '');
    let settle!: () => void;
    let fail!: (error: Error) => void;
    const written = new Promise<void>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const hashed = hashGrowingFile(file, 'sha256', written);
    for (const [i, piece] of pieces.entries()) {
      await appendFile(file, piece);
      if (i < pieces.length - 1) await delay(60);
    }
    if (fails) fail(new Error('the writer failed'));
    else settle();
    return hashed;
  }

  it('hashes every byte written, the last ones too, and then stops', async () => {
    const pieces = [randomBytes(1_500_000), randomBytes(10), randomBytes(1 << 20), randomBytes(3)];
    const { bytes, hash } = await follow('grows', pieces);
    const all = Buffer.concat(pieces);
    assert.equal(bytes, all.length);
    assert.equal(hash?.digest('hex'), sha256(all));
  });

  it('ends when the writer fails, with what was there', async () => {
    const pieces = [randomBytes(1000), randomBytes(2000)];
    const { bytes } = await follow('fails', pieces, true);
    assert.equal(bytes, 3000);
  });

  it('stops when asked, without waiting for the writer', async () => {
    const file = join(dir, 'stopped');
    await writeFile(file, randomBytes(100));
    const never = new Promise<void>(() => {});
    let stop = false;
    const hashed = hashGrowingFile(file, 'md5', never, () => stop);
    await delay(50);
    stop = true;
    assert.equal((await hashed).bytes, 100);
  });
});
