import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { md5 } from '../helpers/files.js';
import { useSandbox } from '../helpers/sandbox.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const sandbox = useSandbox({ aliases: ['web1'] });

/** The ```js example=NAME blocks of the README, by name. */
async function readmeExamples(): Promise<Map<string, string>> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const examples = new Map<string, string>();
  for (const match of readme.matchAll(/```js example=([\w-]+)\n([\s\S]*?)```/g)) {
    examples.set(match[1]!, match[2]!);
  }
  return examples;
}

// Each example runs for real as its own ESM file inside the package (so `import 'sshstream'`
// resolves to this package), against the sandbox sshd through SSHSTREAM_SSH, in a directory
// holding a copy of package.json; remote relative paths are pointed into the scratch dir.
async function runExample(name: string, code: string, cwd: string): Promise<string> {
  const dir = join(ROOT, 'dist', 'readme-examples');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.mjs`);
  await writeFile(file, code.replaceAll("'web1:", `'web1:${sandbox.current.scratch}/`));
  const { stdout } = await run(process.execPath, [file], {
    cwd,
    env: { ...process.env, SSHSTREAM_SSH: `ssh -F ${sandbox.current.configPath}` },
  });
  return stdout;
}

describe('README library examples run for real', () => {
  let cwd = '';
  after(async () => {
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('has the four examples', async () => {
    assert.deepEqual(
      [...(await readmeExamples()).keys()],
      ['push-gzip', 'pull-hash', 'exec-duplex', 'chain'],
    );
  });

  it('each example does what it says', async () => {
    cwd = await mkdtemp(join(tmpdir(), 'sshstream-readme-'));
    await copyFile(join(ROOT, 'package.json'), join(cwd, 'package.json'));
    const manifest = await readFile(join(cwd, 'package.json'));
    const examples = await readmeExamples();

    const pushed = await runExample('push-gzip', examples.get('push-gzip')!, cwd);
    assert.equal(pushed, `uploaded ${manifest.length} bytes, md5 ${md5(manifest)}\n`);
    assert.deepEqual(await readFile(join(sandbox.current.scratch, 'app.json')), manifest);

    const pulled = await runExample('pull-hash', examples.get('pull-hash')!, cwd);
    const { createHash } = await import('node:crypto');
    assert.equal(pulled, `sha256 ${createHash('sha256').update(manifest).digest('hex')}\n`);

    const sorted = await runExample('exec-duplex', examples.get('exec-duplex')!, cwd);
    assert.equal(sorted, 'apple\nfig\npear\n');

    const chained = await runExample('chain', examples.get('chain')!, cwd);
    const sha = createHash('sha256').update(manifest).digest('hex');
    assert.equal(
      chained,
      `pushed ${manifest.length} bytes, sha256 ${sha}\npulled ${manifest.length} bytes, verified true\nfunction\n`,
    );
    assert.deepEqual(await readFile(join(cwd, 'copy.json')), manifest);
  });
});
