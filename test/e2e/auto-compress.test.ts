// --compress auto (push and pull): compress only data that shrinks, with the best format both
// ends have; random data goes uncompressed. The choice shows in the result's `compress` field.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createPushStream } from '../../lib/push/create.js';
import { startSandbox, type Sandbox } from '../../lib/sandbox/sandbox.js';
import { findExecutable } from '../../transforms/which.js';
import { runCli } from '../helpers/cli.js';
import { leftovers, md5 } from '../helpers/files.js';
import { freshDir, useSandbox } from '../helpers/sandbox.js';
import { ensureUser } from '../helpers/users.js';
import { isRoot } from '../helpers/prerequisites.js';

const sandbox = useSandbox();

// Log-like lines: compress to well under 90%.
const text = (size: number): Buffer => {
  let out = '';
  for (let i = 0; out.length < size; i++) out += `${i} GET /index.html 200 ${i * 37} bytes\n`;
  return Buffer.from(out.slice(0, size));
};

interface Json {
  bytes: number;
  md5: string;
  compress?: string;
}

async function pushAuto(s: Sandbox, data: Buffer, env: NodeJS.ProcessEnv = {}): Promise<Json> {
  const dir = await freshDir(s);
  const target = `${s.host}:${dir}/f`;
  const result = await runCli(
    ['push', ...s.sshArgs, '--compress', 'auto', '--json', target],
    data,
    env,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(md5(await readFile(join(dir, 'f'))), md5(data));
  assert.deepEqual(await leftovers(dir), []);
  return JSON.parse(result.stdout.toString('utf8')) as Json;
}

async function pullAuto(s: Sandbox, data: Buffer, env: NodeJS.ProcessEnv = {}): Promise<Json> {
  const dir = await freshDir(s);
  await writeFile(join(dir, 'src'), data, { mode: 0o644 });
  const out = join(dir, 'out');
  const args = ['pull', ...s.sshArgs, '--compress', 'auto', '--json', `${s.host}:${dir}/src`, out];
  const result = await runCli(args, '', env);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(md5(await readFile(out)), md5(data));
  return JSON.parse(result.stdout.toString('utf8')) as Json;
}

// A PATH with only ssh on it: no local zstd.
async function pathWithoutZstd(dir: string): Promise<NodeJS.ProcessEnv> {
  const bin = join(dir, 'bin-without-zstd');
  await mkdir(bin);
  await symlink(findExecutable('ssh')!, join(bin, 'ssh'));
  return { PATH: bin };
}

describe('--compress auto (real sshd)', () => {
  it('push: text goes with zstd, random data uncompressed, a small input inline', async () => {
    assert.equal((await pushAuto(sandbox.current, text(1 << 20))).compress, 'zstd');
    assert.equal((await pushAuto(sandbox.current, randomBytes(1 << 20))).compress, undefined);
    assert.equal((await pushAuto(sandbox.current, text(1000))).compress, undefined);
  });

  it('pull: text comes with zstd, random data uncompressed', async () => {
    assert.equal((await pullAuto(sandbox.current, text(1 << 20))).compress, 'zstd');
    assert.equal((await pullAuto(sandbox.current, randomBytes(1 << 20))).compress, undefined);
    assert.equal((await pullAuto(sandbox.current, Buffer.alloc(0))).compress, undefined);
  });

  it('no zstd on this side: gzip both ways', async () => {
    const env = await pathWithoutZstd(await sandbox.fresh());
    assert.equal((await pushAuto(sandbox.current, text(1 << 20), env)).compress, 'gzip');
    assert.equal((await pullAuto(sandbox.current, text(1 << 20), env)).compress, 'gzip');
  });

  it('input that ends before the sample is full still decides (library, slow producer)', async () => {
    const dir = await sandbox.fresh();
    const data = text(40_000); // above the inline limit, below the 64 KiB sample
    async function* slowly() {
      yield data.subarray(0, 1000);
      await sleep(300);
      yield data.subarray(1000);
    }
    const push = createPushStream(`${sandbox.current.host}:${dir}/slow`, {
      config: sandbox.current.configPath,
      compress: 'auto',
    });
    await pipeline(Readable.from(slowly()), push);
    const result = await push.result;
    assert.equal(result.compress, 'zstd');
    assert.equal(md5(await readFile(join(dir, 'slow'))), md5(data));
  });

  describe('remote hosts without zstd, or without zstd and gzip', () => {
    // sshd's SetEnv sets PATH for the session; the login shell must not reset it, so log in
    // as a sh user when root (root's startup files may).
    const bare = new Map<string, Sandbox>();
    before(async () => {
      const user = isRoot() ? await ensureUser('sshstream-sh', 'sh') : undefined;
      for (const [name, missing] of [
        ['no-zstd', ['zstd']],
        ['no-zstd-gzip', ['zstd', 'gzip']],
      ] as const) {
        const bin = join(sandbox.current.dir, `bin-${name}`);
        await mkdir(bin);
        for (const from of ['/usr/bin', '/bin']) {
          for (const tool of await readdir(from)) {
            if ((missing as readonly string[]).includes(tool) || existsSync(join(bin, tool)))
              continue;
            await symlink(join(from, tool), join(bin, tool));
          }
        }
        bare.set(
          name,
          await startSandbox({
            ...(user ? { user: user.name } : {}),
            sshdConfig: [`SetEnv PATH=${bin}`],
          }),
        );
      }
    });
    after(async () => {
      for (const s of bare.values()) await s.stop();
    });

    it('without zstd there: gzip both ways', async () => {
      const s = bare.get('no-zstd')!;
      assert.equal((await pushAuto(s, text(1 << 20))).compress, 'gzip');
      assert.equal((await pullAuto(s, text(1 << 20))).compress, 'gzip');
    });

    it('without zstd and gzip there: uncompressed both ways, not an error', async () => {
      const s = bare.get('no-zstd-gzip')!;
      assert.equal((await pushAuto(s, text(1 << 20))).compress, undefined);
      assert.equal((await pullAuto(s, text(1 << 20))).compress, undefined);
    });
  });
});
