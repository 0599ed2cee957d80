// Property-based tests against the real sandbox sshd: random contents in random chunkings, with
// random options, and random hostile names under every login shell, must round-trip exactly.
// (The argument encoder's properties, which need no ssh, are in remote-encoding.test.ts.)
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createPullStream, createPushStream } from '../../lib/index.js';
import { useSandbox } from '../helpers/sandbox.js';
import { sink } from '../helpers/streams.js';
import { useShellUsers } from '../helpers/shell-users.js';
import { SHELLS } from '../helpers/users.js';

const sandbox = useSandbox();
const ssh = () => ({ config: sandbox.current.configPath });

// Deterministic bytes of a given kind, so a failing case is reproducible from its seed.
function contents(kind: 'random' | 'zeros' | 'text', size: number, seed: number): Buffer {
  if (kind === 'zeros') return Buffer.alloc(size);
  if (kind === 'text')
    return Buffer.from(`line ${seed} of text\n`.repeat(size / 10 + 1)).subarray(0, size);
  const key = createHash('md5').update(String(seed)).digest();
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

// Cuts `data` at the given offsets (sorted, deduplicated) into the chunks we write.
function chunked(data: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(from, point));
    from = point;
  }
  return chunks.filter((chunk) => chunk.length > 0);
}

const transfer = fc.record({
  kind: fc.constantFrom('random' as const, 'zeros' as const, 'text' as const),
  size: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 300_000 })),
  seed: fc.integer(),
  cuts: fc.array(fc.nat(), { maxLength: 40 }),
  compress: fc.constantFrom(undefined, 'gzip' as const),
  checksum: fc.constantFrom('md5' as const, 'sha1' as const, 'sha256' as const, 'none' as const),
});

describe('random contents in random chunks round-trip exactly', () => {
  it('createPushStream then createPullStream', async () => {
    await fc.assert(
      fc.asyncProperty(transfer, async ({ kind, size, seed, cuts, compress, checksum }) => {
        const data = contents(kind, size, seed);
        const dir = await sandbox.fresh();
        const target = `${sandbox.current.host}:${dir}/f`;
        const options = { ...ssh(), compress, checksum };
        const push = createPushStream(target, options);
        await pipeline(Readable.from(chunked(data, cuts)), push);
        const pushed = await push.result;
        assert.equal(pushed.bytes, data.length);
        assert.ok((await readFile(join(dir, 'f'))).equals(data), 'pushed bytes differ');
        const out = sink();
        const pull = createPullStream(target, options);
        await pipeline(pull, out);
        assert.ok(out.data().equals(data), 'pulled bytes differ');
        assert.equal((await pull.result).digest, pushed.digest);
      }),
      { numRuns: 15, endOnFailure: true },
    );
  });
});

// Everything a shell might parse, and bytes that are not plain ASCII.
const HOSTILE_ALPHABET = [...' \t\n\r\'"\\$()`;&|<>!*?[]{}#~-%^=,:@a', 'é', '☃', '\x1b', '\x7f'];
const hostileName = fc
  .array(fc.constantFrom(...HOSTILE_ALPHABET), { minLength: 1, maxLength: 24 })
  .map((chars) => chars.join(''))
  .filter((name) => name !== '.' && name !== '..');

describe('random hostile names round-trip under every login shell', { concurrency: 2 }, () => {
  const users = useShellUsers();
  for (const shell of SHELLS) {
    it(shell, async (t) => {
      const user = users.loginAs(t, shell);
      if (!user) return;
      await fc.assert(
        fc.asyncProperty(hostileName, async (name) => {
          const dir = await sandbox.fresh(user);
          const data = Buffer.from(`contents of ${name}`);
          const target = `${user.name}@${sandbox.current.host}:${dir}/${name}`;
          const push = createPushStream(target, ssh());
          await pipeline(Readable.from([data]), push);
          assert.deepEqual(await readdir(dir), [name]);
          assert.ok((await readFile(join(dir, name))).equals(data));
          const out = sink();
          await pipeline(createPullStream(target, ssh()), out);
          assert.ok(out.data().equals(data));
        }),
        { numRuns: 4, endOnFailure: true },
      );
    });
  }
});
