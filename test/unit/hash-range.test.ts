// hashRange: the one loop that hashes a local file, or a range of it, by path or descriptor.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashRange } from '../../lib/util/hash-range.js';

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
