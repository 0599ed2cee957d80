// killSsh: ends a process and what it started (ssh's ProxyCommand), found in /proc. Here the
// "ssh" is a shell with two background sleeps, one of them a grandchild.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { descendantsOf, killSsh, parentOf } from '../../lib/ssh/process-tree.js';
import { waitFor } from '../helpers/files.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('killSsh', () => {
  it('ends the process and every process it started, grandchildren too', async () => {
    const child = spawn('sh', ['-c', 'sleep 300 & sh -c "sleep 300 & wait" & wait'], {
      stdio: 'ignore',
    });
    await waitFor(() => descendantsOf(child.pid!).length === 3, 5000);
    const started = descendantsOf(child.pid!);
    assert.ok(started.every((pid) => parentOf(pid) !== undefined));
    const exited = once(child, 'exit');
    killSsh(child);
    await exited;
    await waitFor(() => started.every((pid) => !alive(pid)), 5000).catch(() => {});
    assert.deepEqual(started.filter(alive), [], 'processes left running');
  });

  it('finds nothing under a process that started nothing, or one that is gone', () => {
    assert.deepEqual(descendantsOf(2 ** 22 + 1), []);
    assert.equal(parentOf(2 ** 22 + 1), undefined);
    assert.equal(parentOf(process.pid), process.ppid);
  });
});
