// What users install is the packed tarball, not this checkout: pack it, install it into a fresh
// project, and use it only from there (the installed bin, `import`, `require`, tsc against the
// shipped declarations), against the real sandbox sshd.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { leftovers, md5 } from '../helpers/files.js';
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

const CONSUMER_TS = `import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createPullStream,
  createPushStream,
  type ErrorContext,
  type PullResult,
  type PullStream,
  type PullWithRetriesOptions,
  type PushInput,
  type PushResult,
  type PushStream,
  type PushWithRetriesOptions,
  type RetryOptions,
  type TransferResult,
} from 'sshstream';

// Every type that appears in a public signature can be named from the package root.
export type PublicTypes = [
  ErrorContext,
  PullWithRetriesOptions,
  PushInput,
  PushWithRetriesOptions,
  RetryOptions,
  TransferResult,
];

export async function roundTrip(target: string, config: string): Promise<[PushResult, PullResult]> {
  const push: PushStream = createPushStream(target, { config, checksum: 'sha256', mkdir: true });
  await pipeline(Readable.from([Buffer.from('typed')]), push);
  const pull: PullStream = createPullStream(target, { config, compress: 'gzip' });
  pull.resume();
  const pulled: PullResult = await pull.result;
  const bytes: number = pulled.bytes;
  const verified: true = pulled.verified;
  void bytes;
  void verified;
  return [await push.result, pulled];
}

// @ts-expect-error checksum is one of the supported algorithm names, not any string
createPushStream('h:f', { checksum: 'crc32' });
// @ts-expect-error a pull reads one source, not a list
createPullStream(['h:a', 'h:b']);
`;

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  },
  files: ['consumer.ts'],
};

const ESM_CONSUMER = `import { createPullStream, createPushStream } from 'sshstream';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const [target, config] = process.argv.slice(2);
const push = createPushStream(target, { config });
await pipeline(Readable.from([Buffer.from('imported as ESM\\n')]), push);
const chunks = [];
const pull = createPullStream(target, { config });
for await (const chunk of pull) chunks.push(chunk);
const pushed = await push.result;
const pulled = await pull.result;
console.log(JSON.stringify({ pushed: pushed.bytes, text: Buffer.concat(chunks).toString(), verified: pulled.verified }));
`;

const CJS_CONSUMER = `const sshstream = require('sshstream');
console.log(JSON.stringify(['createPushStream', 'createPullStream', 'push', 'pull'].map((name) => typeof sshstream[name])));
`;

const SANDBOX_CONSUMER = `import { startSandbox } from 'sshstream/sandbox';
import * as library from 'sshstream';
console.log(JSON.stringify([typeof startSandbox, typeof library.startSandbox]));
`;

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
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
    const result = await runIn(project, process.execPath, [TSC, '-p', 'tsconfig.json']);
    assert.equal(result.code, 0, `${result.stdout.toString()}${result.stderr}`);
  });
});
