// Targets beyond --max-parallel start only after the input ended, fed from a local copy of it:
// however many there are, they must not grow sshstream's memory, and when ssh may be asking on
// the terminal they take turns authenticating as the first ones did.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { createPushStream, FanOutError } from '../../lib/index.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { startCli } from '../helpers/cli.js';
import { md5, writeScript } from '../helpers/files.js';
import { ensureUser, userDir, type TestUser } from '../helpers/users.js';
import { isRoot } from '../helpers/prerequisites.js';

const MiB = 1 << 20;
const TARGETS = 64;
const LIMIT_MIB = 100;

// As root, log in as a sh user: a login shell reading startup files only slows each session.
let sandbox: Sandbox;
let user: TestUser | undefined;
const local = mkdtempSync(join(tmpdir(), 'sshstream-fan-out-queue-'));
before(async () => {
  user = isRoot() ? await ensureUser('sshstream-sh', 'sh') : undefined;
  sandbox = await startSandbox(user ? { user: user.name } : {});
});
after(async () => {
  await sandbox?.stop();
  rmSync(local, { recursive: true, force: true });
});
let n = 0;

// Loaded before the CLI: the process's own peak RSS (KiB), written to `file` as it exits. Read
// at exit, it cannot miss a peak, as polling /proc could.
const peakRssProbe = (file: string): string =>
  'data:text/javascript,' +
  encodeURIComponent(
    `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(file)}, String(process.resourceUsage().maxRSS)));`,
  );

describe('targets beyond --max-parallel (real sshd)', () => {
  it(`${TARGETS} targets: sshstream's peak RSS stays under ${LIMIT_MIB} MiB, every copy verified`, async (t) => {
    const dir = await userDir(sandbox.scratch, `queue-${n++}`, user);
    const data = randomBytes(32 * MiB);
    const input = join(local, 'input');
    await writeFile(input, data);
    const rss = join(local, 'peak-rss');
    const targets = Array.from({ length: TARGETS }, (_, i) => `${sandbox.host}:${dir}/copy-${i}`);
    const handle = await open(input, 'r');
    try {
      const run = startCli(
        ['push', '-F', sandbox.configPath, '--quiet', ...targets],
        { NODE_OPTIONS: `--import=${peakRssProbe(rss)}` },
        handle.fd,
      );
      const result = await run.done;
      assert.equal(result.code, 0, result.stderr);
    } finally {
      await handle.close();
    }
    for (let i = 0; i < TARGETS; i++) {
      assert.equal(md5(await readFile(join(dir, `copy-${i}`))), md5(data), `copy-${i}`);
    }
    const peakMiB = Number(await readFile(rss, 'utf8')) / 1024;
    t.diagnostic(`peak RSS ${peakMiB.toFixed(1)} MiB`);
    assert.ok(peakMiB < LIMIT_MIB, `peak RSS ${peakMiB.toFixed(1)} MiB`);
  });

  // Plain (and over 16 KiB), each queued target starts on its own, ssh reading the local copy;
  // compressed, they go in groups that share one reading of it (see runQueue).
  for (const compress of [undefined, 'gzip'] as const) {
    it(`authenticating one at a time, the later targets take turns too${compress ? ` (${compress})` : ''}`, async () => {
      const dir = await userDir(sandbox.scratch, `queue-${n++}`, user);
      // Each master connection logs when it starts and when its (stand-in) question is answered.
      const log = join(local, `turns-${n}.log`);
      const ssh = await writeScript(
        local,
        `turns-ssh-${n}`,
        `case "$*" in
  *ControlMaster=yes*) echo "asks $$" >> '${log}'; sleep 2; echo "answered $$" >> '${log}' ;;
esac
exec ssh "$@"
`,
      );
      // The first two fail at once (no such directory): their slots are free together when the
      // input ends, so the queued three would all start at the same moment.
      const targets = [
        `${sandbox.host}:${dir}/missing/a`,
        `${sandbox.host}:${dir}/missing/b`,
        ...[1, 2, 3].map((i) => `${sandbox.host}:${dir}/queued-${i}`),
      ];
      const stream = createPushStream(targets, {
        config: sandbox.configPath,
        sshCommand: ssh,
        maxParallel: 2,
        connectOneAtATime: true,
        compress,
      });
      const data = randomBytes(64 << 10);
      await assert.rejects(pipeline(Readable.from([data]), stream), FanOutError);
      const outcomes = await stream.result;
      assert.deepEqual(
        outcomes.map((outcome) => outcome.ok),
        [false, false, true, true, true],
      );
      for (const i of [1, 2, 3]) {
        assert.deepEqual(await readFile(join(dir, `queued-${i}`)), data);
      }
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 2 * targets.length, lines.join('\n'));
      for (let i = 0; i < lines.length; i += 2) {
        const pid = lines[i]!.split(' ')[1];
        assert.deepEqual(
          [lines[i], lines[i + 1]],
          [`asks ${pid}`, `answered ${pid}`],
          `one question at a time:\n${lines.join('\n')}`,
        );
      }
    });
  }
});
