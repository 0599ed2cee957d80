import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fastCipherOptions } from '../../lib/ssh/cipher.js';

// `ssh -G` only resolves configuration: no connection is made.
describe('fastCipherOptions (real ssh -G)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-cipher-'));
    await writeFile(join(dir, 'plain'), 'Host plain\n  HostName 127.0.0.1\n');
    await writeFile(join(dir, 'chosen'), 'Host chosen\n  Ciphers aes256-ctr\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('puts AES-GCM first when nobody configured ciphers, keeping the rest as fallback', async (t) => {
    const options = await fastCipherOptions({ host: 'plain' }, { config: join(dir, 'plain') });
    if (
      !/\baes\b/.test(
        await import('node:fs').then((fs) => fs.readFileSync('/proc/cpuinfo', 'latin1')),
      )
    ) {
      assert.deepEqual(options, []);
      return t.diagnostic('CPU without AES instructions: no preference expected');
    }
    assert.equal(options[0], '-o');
    assert.match(options[1]!, /^Ciphers=aes128-gcm@openssh\.com,chacha20-poly1305@openssh\.com,/);
  });

  it("leaves a cipher chosen in the user's config alone", async () => {
    assert.deepEqual(
      await fastCipherOptions({ host: 'chosen' }, { config: join(dir, 'chosen') }),
      [],
    );
  });

  it('leaves a cipher chosen with -o alone, and a custom ssh command', async () => {
    const config = join(dir, 'plain');
    assert.deepEqual(
      await fastCipherOptions({ host: 'plain' }, { config, options: ['Ciphers=aes256-ctr'] }),
      [],
    );
    assert.deepEqual(
      await fastCipherOptions({ host: 'plain' }, { config, sshCommand: 'ssh -v' }),
      [],
    );
  });
});
