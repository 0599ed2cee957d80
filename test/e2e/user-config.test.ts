// Settings people keep in ~/.ssh/config for interactive logins must not break transfers:
// RemoteCommand (tmux, bash -l), SessionType none, StdinNull and ForkAfterAuthentication
// (for port forwards). scp and rsync work with them; so must push and pull.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { settled, startCli } from '../helpers/cli.js';
import { md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

// A CLI still running after 30 s has hung (SessionType none did): killed, so the test fails.
const HUNG_MS = 30_000;

describe("the user's ssh config (real sshd)", () => {
  const settings = [
    'RemoteCommand tmux new -A -s main',
    'SessionType none',
    'StdinNull yes',
    'ForkAfterAuthentication yes',
  ];
  settings.forEach((setting, i) => {
    it(`${setting}: push and pull work`, async () => {
      const dir = join(sandbox.current.scratch, `user-config-${i}`);
      await mkdir(dir);
      // The user's config: the sandbox's hosts, then the setting for every host.
      const config = join(dir, 'ssh_config');
      await writeFile(config, `Include ${sandbox.current.configPath}\nHost *\n  ${setting}\n`);
      const data = randomBytes(100 * 1024);
      const target = `${sandbox.current.host}:${dir}/file`;
      const pushed = await settled(startCli(['push', '-F', config, target]), data, HUNG_MS);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(md5(await readFile(join(dir, 'file'))), md5(data));
      const pulled = await settled(startCli(['pull', '-F', config, target]), undefined, HUNG_MS);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(md5(pulled.stdout), md5(data));
    });
  });
});
