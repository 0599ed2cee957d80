// The ssh processes sshstream starts get glibc malloc settings that keep their buffers in the
// heap (malloc-env.ts), unless the user tunes malloc already: then the user's settings stand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnSsh } from '../../lib/ssh/command.js';
import { sshMallocEnv } from '../../lib/ssh/malloc-env.js';

// What a process that spawnSsh starts sees of the malloc settings.
async function seenBySpawned(env: Record<string, string> = {}): Promise<string> {
  const script =
    'printf "%s|%s|%s" "$MALLOC_MMAP_THRESHOLD_" "$MALLOC_TRIM_THRESHOLD_" "$GLIBC_TUNABLES"';
  const child = spawnSsh({ file: 'sh', args: ['-c', script] }, { env, stdin: 'ignore' });
  const result = await child;
  return Buffer.from(result.stdout as Uint8Array).toString();
}

describe('malloc settings for ssh', () => {
  it('spawnSsh gives them to the process it starts', async () => {
    // As for a user who tunes nothing, whatever this test runs under.
    const names = ['GLIBC_TUNABLES', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_'];
    const saved = names.map((name) => [name, process.env[name]] as const);
    for (const name of names) delete process.env[name];
    try {
      assert.equal(await seenBySpawned(), `${32 << 20}|${128 << 20}|`);
    } finally {
      for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
    }
  });

  it('a caller may still set its own', async () => {
    const own = { MALLOC_TRIM_THRESHOLD_: '1' };
    assert.match(await seenBySpawned(own), /\|1\|$/);
  });

  it('none where the user tunes malloc already', () => {
    assert.deepEqual(sshMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }), {});
    assert.deepEqual(sshMallocEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }), {});
    assert.deepEqual(sshMallocEnv({ MALLOC_TRIM_THRESHOLD_: '0' }), {});
    assert.deepEqual(sshMallocEnv({ PATH: '/usr/bin' }), {
      MALLOC_MMAP_THRESHOLD_: String(32 << 20),
      MALLOC_TRIM_THRESHOLD_: String(128 << 20),
    });
  });
});
