// RangePump: a range of a file into a child's stdin (as a parallel push feeds each session),
// through two buffers used in turn.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RangePump } from '../../lib/push/range-pump.js';

const CHUNK = 256 << 10;

describe('RangePump', () => {
  const data = randomBytes(3 * CHUNK + 4099);
  let dir = '';
  let fd = -1;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-range-pump-'));
    await writeFile(join(dir, 'data'), data);
    fd = openSync(join(dir, 'data'), 'r');
  });
  after(async () => {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  });

  // The range through `sh -c SCRIPT` (which writes it to $1); what landed.
  async function pumpThrough(
    script: string,
    position: number,
    length: number,
  ): Promise<{ landed: Buffer; bytesRead: number }> {
    const out = join(dir, `out-${position}-${length}`);
    const child = spawn('sh', ['-c', script, 'sh', out], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise((resolve) => child.on('close', resolve));
    const pump = new RangePump(fd, position, length, child.stdin);
    await pump.done;
    assert.equal(await exited, 0);
    return { landed: await readFile(out), bytesRead: pump.bytesRead };
  }

  for (const [position, length] of [
    [0, 0],
    [0, 1],
    [5, CHUNK - 1],
    [CHUNK, CHUNK],
    [7, CHUNK + 1],
    [0, data.length],
    [1, data.length - 1],
  ] as const) {
    it(`copies ${length} bytes from ${position}`, async () => {
      const { landed, bytesRead } = await pumpThrough('cat > "$1"', position, length);
      assert.equal(bytesRead, length);
      assert.ok(landed.equals(data.subarray(position, position + length)));
    });
  }

  it('reuses a buffer only once its write is done (a reader that stalls between reads)', async () => {
    // Each pause leaves writes pending in the pipe: a buffer read into while the kernel has
    // not taken its last contents yet would corrupt what lands.
    const slow =
      'while :; do r=$(dd bs=65536 count=1 iflag=fullblock 2>&1 >> "$1"); ' +
      'case $r in 0+0*) break ;; esac; sleep 0.01; done';
    const { landed, bytesRead } = await pumpThrough(slow, 3, data.length - 3);
    assert.equal(bytesRead, data.length - 3);
    assert.ok(landed.equals(data.subarray(3)));
  });

  it('stops at the end of a file shorter than the range, and says how much went', async () => {
    const { landed, bytesRead } = await pumpThrough('cat > "$1"', data.length - 10, 100);
    assert.equal(bytesRead, 10);
    assert.ok(landed.equals(data.subarray(data.length - 10)));
  });

  it('rejects, and does not hang, when the reader quits early', async () => {
    const child = spawn('sh', ['-c', 'head -c 1000 > /dev/null'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const pump = new RangePump(fd, 0, data.length, child.stdin);
    await assert.rejects(pump.done, /EPIPE|write after end|destroyed/);
    assert.ok(pump.bytesRead < data.length);
  });
});
