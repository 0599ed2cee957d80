// A ProxyCommand that never gets through (a jump host that hangs, say) and does not stop on its
// own when ssh goes away. OpenSSH stops its proxy when it exits by itself, not when a signal ends
// it while connecting: sshstream, interrupted then, must end the proxy too, or it runs on, and
// holds ssh's stderr open, so that sshstream itself never exits (so it was before the fix).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { exists, waitFor } from '../helpers/files.js';
import { processesWith } from '../helpers/processes.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
const tokens: string[] = [];

after(() => {
  for (const token of tokens) for (const pid of processesWith(token)) process.kill(pid, 'SIGKILL');
});

// A config whose ProxyCommand notes that it runs, then waits ten minutes, deaf to EOF.
async function hangingProxy(dir: string): Promise<{ config: string; token: string; ran: string }> {
  const token = `proxy-${randomBytes(6).toString('hex')}`;
  tokens.push(token);
  const ran = join(dir, `${token}.ran`);
  const proxy = `${process.execPath} -e "require('fs').writeFileSync('${ran}', ''); setInterval(() => {}, 600000)" ${token}`;
  const text = await readFile(sandbox.current.configPath, 'utf8');
  const config = join(dir, 'ssh_config');
  await writeFile(
    config,
    text.replace(/^Host .*$/m, (host) => `${host}\n  ProxyCommand ${proxy}`),
  );
  return { config, token, ran };
}

describe('interrupted while ssh connects through a ProxyCommand that hangs', () => {
  for (const operation of ['push', 'pull'] as const) {
    it(`${operation}: exit 130, and the proxy is gone too`, async () => {
      const dir = await sandbox.fresh();
      const { config, token, ran } = await hangingProxy(dir);
      const path = `${sandbox.current.host}:${dir}/file`;
      const args =
        operation === 'push' ? ['push', '-F', config, path] : ['pull', '-F', config, path];
      const cli = startCli(args);
      cli.child.stdin!.end('data');
      await waitFor(() => exists(ran), 10_000);
      cli.child.kill('SIGINT');
      // Without the fix sshstream itself hangs: the proxy holds ssh's stderr open.
      const guard = setTimeout(() => cli.child.kill('SIGKILL'), 20_000);
      const result = await cli.done.finally(() => clearTimeout(guard));
      assert.equal(result.code, 130, result.stderr);
      await waitFor(() => processesWith(token).length === 0, 5000).catch(() => {});
      assert.deepEqual(processesWith(token), [], 'the ProxyCommand still runs');
    });
  }
});
