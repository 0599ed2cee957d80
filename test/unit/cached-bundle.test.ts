// loadCachedBundle: the CLI's bundle compiled with V8's code cache, each run in a process of its
// own (within one process V8 keeps compiled scripts by source, and no cache file is read).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LOADER = new URL('../../lib/cli/cached-bundle.js', import.meta.url).href;
// The bundle's exports.where() names the file and line of its own code in a stack trace.
const BUNDLE = "exports.where = () => new Error('here').stack.split('\\n')[1].trim();\n";
const RUN_ONE = `
import { loadCachedBundle } from ${JSON.stringify(LOADER)};
const bundle = loadCachedBundle(process.argv[1], 'test');
process.stdout.write(bundle.exports.where());
bundle.saveCache();
`;

describe('loadCachedBundle', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshstream-cached-bundle-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Runs the bundle at `file` in a fresh node with the cache under `cache`; its where().
  async function whereFrom(file: string, cache: string): Promise<string> {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', RUN_ONE, file], {
      env: { ...process.env, XDG_CACHE_HOME: cache },
    });
    return stdout;
  }

  it('stores a cache file on the first run', async () => {
    const cache = join(dir, 'first-cache');
    const file = join(dir, 'first', 'cli.cjs');
    await mkdir(join(dir, 'first'));
    await writeFile(file, BUNDLE);
    assert.match(await whereFrom(file, cache), /first\/cli\.cjs:1:/);
    assert.equal((await readdir(join(cache, 'sshstream'))).length, 1);
  });

  // V8 keeps the script's name in its code cache: a cache made by another install of the same
  // bundle (a global one and an npx one, say) would make stack traces name that install's file.
  it("names its own file in stack traces, not the file of another install's cache", async () => {
    const cache = join(dir, 'shared-cache');
    const one = join(dir, 'one', 'cli.cjs');
    const two = join(dir, 'two', 'cli.cjs');
    for (const file of [one, two]) {
      await mkdir(join(file, '..'));
      await writeFile(file, BUNDLE);
    }
    assert.match(await whereFrom(one, cache), /\/one\/cli\.cjs:1:/);
    assert.match(await whereFrom(two, cache), /\/two\/cli\.cjs:1:/);
    assert.match(await whereFrom(two, cache), /\/two\/cli\.cjs:1:/);
    assert.match(await whereFrom(one, cache), /\/one\/cli\.cjs:1:/);
  });
});
