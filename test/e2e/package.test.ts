// What users install is the packed tarball, not this checkout: pack it, install it into a fresh
// project, and use it only from there (the installed bin, `import`, `require`, tsc against the
// shipped declarations), against the real sandbox sshd.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { leftovers, md5 } from '../helpers/files.js';
import {
  CJS_CONSUMER,
  CONSUMER_TS,
  consumerTsconfig,
  ESM_CONSUMER,
  SANDBOX_CONSUMER,
} from '../helpers/package-consumers.js';
import { useSandbox } from '../helpers/sandbox.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The project's compiler (TypeScript 7); `typescript` itself is the 6.0 API for the linter.
const TSC = join(ROOT, 'node_modules', '@typescript', 'native', 'bin', 'tsc');
const HOST = 'packaged';
const sandbox = useSandbox({ aliases: [HOST] });

interface Outcome {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

// The child npm and the installed CLI should see the environment a user's shell has, not the
// variables `npm test` exports about this checkout (npm_package_version, npm_config_local_prefix).
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const npmConfig = /^npm_config_/i.test(key) && !/^npm_config_local_prefix$/i.test(key);
    if (!/^npm_/i.test(key) || npmConfig) env[key] = value;
  }
  return { ...env, ...extra };
}

// Runs `file` to completion in `cwd` with `input` on stdin, collecting both outputs.
function runIn(
  cwd: string,
  file: string,
  args: readonly string[],
  input: Buffer | string = '',
  env: NodeJS.ProcessEnv = {},
): Promise<Outcome> {
  const child = spawn(file, args, { cwd, env: userEnv(env) });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
}

describe('the packed tarball, installed into a fresh project', () => {
  let version = '';
  let work = '';
  let project = '';
  let bin = '';
  let packed: string[] = [];

  before(async () => {
    ({ version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    });
    work = await mkdtemp(join(tmpdir(), 'sshstream-package-'));
    // --ignore-scripts: `npm test` has just built dist/; `prepare` would rebuild it under the
    // other test files' feet.
    const pack = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      { cwd: ROOT, env: userEnv(), timeout: 120_000 },
    );
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    packed = info!.files.map((file) => file.path).sort();
    project = join(work, 'consumer');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, info!.filename)],
      { cwd: project, env: userEnv(), timeout: 300_000 },
    );
    bin = join(project, 'node_modules', '.bin', 'sshstream');
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('carries what the runtime reads, a LICENSE, and no source maps', () => {
    for (const file of ['LICENSE', 'README.md', 'package.json', 'dist/lib/remote/remote.sh']) {
      assert.ok(packed.includes(file), `${file} in ${packed.join(' ')}`);
    }
    for (const file of ['dist/bin/sshstream.js', 'dist/lib/index.js', 'dist/lib/index.d.ts']) {
      assert.ok(packed.includes(file), `${file} in the tarball`);
    }
    assert.deepEqual(
      packed.filter((file) => file.endsWith('.map')),
      [],
    );
  });

  it('--version prints the installed package version, whatever project runs it', async () => {
    const result = await runIn(project, bin, ['--version'], '', {
      npm_package_version: '9.9.9-not-sshstream',
    });
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), `${version}\n`);
  });

  it('--help prints the usage', async () => {
    const result = await runIn(project, bin, ['--help']);
    assert.equal(result.code, 0, result.stderr);
    const help = result.stdout.toString();
    assert.match(help, /^Usage: sshstream /);
    assert.match(help, /^\s+push \[options\]/m);
    assert.match(help, /^\s+pull \[options\]/m);
  });

  it('pushes and pulls byte-exact through the sandbox sshd', async () => {
    const dir = join(sandbox.current.scratch, 'installed-cli');
    await mkdir(dir);
    const target = `${HOST}:${dir}/data.bin`;
    const data = randomBytes(1024 * 1024 + 17);

    const pushed = await runIn(project, bin, ['push', ...sandbox.sshArgs, target], data);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, new RegExp(`md5 ${md5(data)} verified`));
    assert.deepEqual(await readFile(join(dir, 'data.bin')), data);

    const pulled = await runIn(project, bin, ['pull', ...sandbox.sshArgs, target]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout.length, data.length);
    assert.ok(pulled.stdout.equals(data), 'pulled bytes equal the pushed ones');

    const copy = join(project, 'copy.bin');
    const toFile = await runIn(project, bin, ['pull', ...sandbox.sshArgs, target, copy]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.deepEqual(await readFile(copy), data);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('keeps its compiled code in a private cache under XDG_CACHE_HOME, read on the next run', async () => {
    const cache = join(work, 'xdg', 'sshstream');
    const env = { XDG_CACHE_HOME: join(work, 'xdg') };
    let created: Stats | undefined;
    for (let run = 1; run <= 3; run++) {
      const result = await runIn(project, bin, ['--version'], '', env);
      assert.deepEqual(
        [result.code, result.stdout.toString(), result.stderr],
        [0, `${version}\n`, ''],
      );
      // One file and no temporary left, private to us, in a private directory.
      const files = await readdir(cache);
      assert.equal(files.length, 1, files.join(' '));
      const file = await stat(join(cache, files[0]!));
      assert.equal(file.mode & 0o777, 0o600);
      assert.equal(file.uid, process.getuid!());
      assert.equal((await stat(cache)).mode & 0o777, 0o700);
      // Later runs take the first run's file as it is: a rejected cache would be rewritten.
      if (run === 1) created = file;
      else assert.deepEqual([file.ino, file.mtimeMs], [created!.ino, created!.mtimeMs]);
    }
  });

  it('keeps the cache in ~/.cache/sshstream without XDG_CACHE_HOME', async () => {
    const home = join(work, 'home');
    await mkdir(home);
    const env = { HOME: home, XDG_CACHE_HOME: undefined };
    const result = await runIn(project, bin, ['--help'], '', env);
    assert.equal(result.code, 0, result.stderr);
    const files = await readdir(join(home, '.cache', 'sshstream'));
    assert.equal(files.length, 1, files.join(' '));
  });

  it('ignores a cache file others could write, or a damaged one, and replaces it', async () => {
    const dir = join(sandbox.current.scratch, 'installed-cache');
    await mkdir(dir);
    const env = { XDG_CACHE_HOME: join(work, 'xdg-tampered') };
    const cache = join(work, 'xdg-tampered', 'sshstream');
    const data = randomBytes(1024);
    const push = async (name: string) => {
      const target = `${HOST}:${dir}/${name}`;
      const result = await runIn(
        project,
        bin,
        ['push', '-F', sandbox.current.configPath, target],
        data,
        env,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`md5 ${md5(data)} verified`));
      assert.deepEqual(await readFile(join(dir, name)), data);
    };
    await push('first');
    const [name] = await readdir(cache);
    const file = join(cache, name!);
    const valid = await readFile(file);
    const tampered: [string, Buffer, number][] = [
      ['group-writable', valid, 0o620],
      [
        'damaged',
        Buffer.from(valid.map((byte, at) => (at > valid.length / 2 ? byte ^ 0x5a : byte))),
        0o600,
      ],
      ['garbage', randomBytes(valid.length), 0o600],
    ];
    for (const [what, bytes, mode] of tampered) {
      await writeFile(file, bytes);
      await chmod(file, mode);
      const planted = await stat(file);
      await push(what);
      const replaced = await stat(file);
      assert.notEqual(replaced.ino, planted.ino, `${what}: replaced`);
      assert.equal(replaced.mode & 0o777, 0o600, what);
    }
  });

  it('runs silently where the cache cannot be written', async () => {
    const notADirectory = join(work, 'plain-file');
    await writeFile(notADirectory, '');
    for (const env of [
      { XDG_CACHE_HOME: join(notADirectory, 'cache') },
      { HOME: notADirectory, XDG_CACHE_HOME: undefined },
    ]) {
      for (let run = 1; run <= 2; run++) {
        const result = await runIn(project, bin, ['--version'], '', env);
        assert.deepEqual(
          [result.code, result.stdout.toString(), result.stderr],
          [0, `${version}\n`, ''],
        );
      }
    }
  });

  it("import 'sshstream' pushes and pulls from an ES module", async () => {
    const dir = join(sandbox.current.scratch, 'installed-esm');
    await mkdir(dir);
    await writeFile(join(project, 'esm.mjs'), ESM_CONSUMER);
    const args = ['esm.mjs', `${HOST}:${dir}/esm.txt`, sandbox.current.configPath];
    const result = await runIn(project, process.execPath, args);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString()), {
      pushed: 16,
      text: 'imported as ESM\n',
      verified: true,
    });
    assert.equal(await readFile(join(dir, 'esm.txt'), 'utf8'), 'imported as ESM\n');
  });

  it("require('sshstream') loads the library from CommonJS (Node >= 20.19)", async () => {
    await writeFile(join(project, 'cjs.cjs'), CJS_CONSUMER);
    const result = await runIn(project, process.execPath, ['cjs.cjs']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString()), [
      'function',
      'function',
      'function',
      'function',
    ]);
  });

  it("the sandbox is its own export, 'sshstream/sandbox', not part of the library", async () => {
    await writeFile(join(project, 'sandbox.mjs'), SANDBOX_CONSUMER);
    const result = await runIn(project, process.execPath, ['sandbox.mjs']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString()), ['function', 'undefined']);
  });

  it('a TypeScript consumer type-checks against the shipped declarations', async () => {
    await writeFile(join(project, 'consumer.ts'), CONSUMER_TS);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify(consumerTsconfig(join(ROOT, 'node_modules', '@types'))),
    );
    const result = await runIn(project, process.execPath, [TSC, '-p', 'tsconfig.json']);
    assert.equal(result.code, 0, `${result.stdout.toString()}${result.stderr}`);
  });
});
