// `ssh -G` runs once per process for a destination and its options; a failed run is not kept.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { effectiveSshConfig } from '../../lib/ssh/config.js';

// `ssh -G` only resolves configuration: no connection is made.
describe('effectiveSshConfig (real ssh -G)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-ssh-config-'));
    await writeFile(join(dir, 'one'), 'Host one\n  Port 2201\nHost two\n  Port 2202\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('answers a second ask for the same destination and options from memory', async () => {
    const config = join(dir, 'one');
    const first = await effectiveSshConfig({ host: 'one' }, { config });
    assert.equal(first?.get('port'), '2201');
    // Settled, then asked again: the same answer, not a new run.
    assert.equal(await effectiveSshConfig({ host: 'one' }, { config }), first);
  });

  it('keeps destinations and options apart', async () => {
    const config = join(dir, 'one');
    assert.equal((await effectiveSshConfig({ host: 'two' }, { config }))?.get('port'), '2202');
    const given = await effectiveSshConfig({ host: 'one' }, { config, options: ['Port=2209'] });
    assert.equal(given?.get('port'), '2209');
    const user = await effectiveSshConfig({ host: 'one', user: 'someone' }, { config });
    assert.equal(user?.get('user'), 'someone');
  });

  it('does not keep a failed run: a config fixed later is read', async () => {
    const config = join(dir, 'late');
    // A config file that does not exist: ssh -G fails.
    assert.equal(await effectiveSshConfig({ host: 'late' }, { config }), undefined);
    await writeFile(config, 'Host late\n  Port 2203\n');
    assert.equal((await effectiveSshConfig({ host: 'late' }, { config }))?.get('port'), '2203');
  });
});
