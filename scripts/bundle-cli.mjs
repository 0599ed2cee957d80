// Build step after finish-build.mjs: replaces tsc's dist/bin/sshstream.js (the `sshstream`
// command) with one file holding the CLI and everything it imports. Node resolves, reads and
// compiles each ES module on its own, and the CLI imports about 260 of them (execa alone over
// 100): that was most of the start-up of a small push. The library (dist/lib, the package's
// exports) stays as tsc wrote it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

// Two modules read a file beside themselves, relative to their own URL, which in the bundle is
// dist/bin/: the remote script goes in as text, and package.json is found from dist/bin/. Each
// replacement must match exactly once, so a change to those lines fails the build here.
const REWRITES = {
  'lib/remote/script.js': [
    "readFileSync(new URL('./remote.sh', import.meta.url), 'utf8')",
    JSON.stringify(readFileSync(`${dist}lib/remote/remote.sh`, 'utf8')),
  ],
  'lib/cli/package-version.js': [
    "new URL('../../../package.json', import.meta.url)",
    "new URL('../../package.json', import.meta.url)",
  ],
};

const rewriteAssets = {
  name: 'rewrite-assets',
  setup(plugin) {
    plugin.onLoad(
      { filter: /[\\/]dist[\\/]lib[\\/](remote[\\/]script|cli[\\/]package-version)\.js$/ },
      (args) => {
        const key = Object.keys(REWRITES).find((name) => args.path.endsWith(name));
        const [from, to] = REWRITES[key];
        const source = readFileSync(args.path, 'utf8');
        const parts = source.split(from);
        if (parts.length !== 2) throw new Error(`bundle-cli: expected ${from} once in ${key}`);
        return { contents: parts.join(to), loader: 'js' };
      },
    );
  },
};

// tsc writes dist/bin/sshstream.js afresh on every build; bundling a bundle would keep stale code.
if (readFileSync(`${dist}bin/sshstream.js`, 'utf8').includes('sshstreamRequire')) {
  throw new Error('bundle-cli: dist/bin/sshstream.js is already a bundle: run tsc first');
}

await build({
  entryPoints: [`${dist}bin/sshstream.js`],
  outfile: `${dist}bin/sshstream.js`,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // commander and execa's helpers are CommonJS and call require() for Node's own modules,
  // which an ES module bundle does not have.
  banner: {
    js: "import { createRequire as sshstreamRequire } from 'node:module';\nconst require = sshstreamRequire(import.meta.url);",
  },
  plugins: [rewriteAssets],
  logLevel: 'warning',
});
