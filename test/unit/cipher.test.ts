import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fastCipherOptions } from '../../lib/ssh/cipher.js';

const cpuHasAes = () => /\baes\b/.test(readFileSync('/proc/cpuinfo', 'latin1'));

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

  it("runs ssh -G once when the effective list is OpenSSH's own default list", async () => {
    // A wrapper first on PATH logs each run of the real ssh.
    const bin = join(dir, 'bin');
    const log = join(dir, 'ssh-runs');
    const real = spawnSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).stdout.trim();
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
    await chmod(join(bin, 'ssh'), 0o755);
    await writeFile(join(dir, 'counted'), 'Host counted\n  HostName 127.0.0.1\n');
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path}`;
    try {
      await fastCipherOptions({ host: 'counted' }, { config: join(dir, 'counted') });
    } finally {
      process.env['PATH'] = path;
    }
    const runs = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const defaults = spawnSync(real, ['-G', '-F', '/dev/null', 'x'], { encoding: 'utf8' });
    const known =
      /^ciphers chacha20-poly1305@openssh\.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh\.com,aes256-gcm@openssh\.com$/m;
    // Without AES instructions nothing is asked; with another default list, both lists are.
    const expected = !cpuHasAes() ? 0 : known.test(defaults.stdout) ? 1 : 2;
    assert.equal(runs.length, expected, runs.join('\n'));
    if (expected === 1) assert.match(runs[0]!, /-G -F \S*counted -- counted true$/);
  });
});
