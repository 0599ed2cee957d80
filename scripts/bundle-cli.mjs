// Build step after finish-build.mjs: writes dist/bin/cli.cjs, the CLI (dist/lib/cli/program.js)
// and everything it imports in one CommonJS file, which dist/bin/sshstream.js (the `sshstream`
// command) compiles with V8's code cache. Node resolves, reads and compiles each ES module on
// its own, and the CLI imports about 260 of them (execa alone over 100): that was most of the
// start-up of a small push; compiling the one file was most of what was left, and a code cache
// needs a script, not a module. The library (dist/lib, the package's exports) stays as tsc
// wrote it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// Two modules read a file beside themselves, relative to their own URL, which a script does not
// have: the remote script goes in as text, and package.json is found from dist/bin/ (the
// bundle's __dirname). Each replacement must match exactly once, so a change to those lines
// fails the build here.
const REWRITES = {
  'lib/remote/script.js': [
    "readFileSync(new URL('./remote.sh', import.meta.url), 'utf8')",
    JSON.stringify(readFileSync(`${dist}lib/remote/remote.sh`, 'utf8')),
  ],
  'lib/cli/package-version.js': [
    "new URL('../../../package.json', import.meta.url)",
    "require('node:path').join(__dirname, '../../package.json')",
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

const { outputFiles } = await build({
  entryPoints: [`${dist}lib/cli/program.js`],
  outfile: `${dist}bin/cli.cjs`,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The version is part of the bytes the code cache is keyed by (lib/cli/cached-bundle.ts).
  banner: { js: `// sshstream ${version}: the CLI, run by sshstream.js` },
  // Any other import.meta would be silently empty in CommonJS.
  logOverride: { 'empty-import-meta': 'error' },
  plugins: [rewriteAssets],
  logLevel: 'warning',
});

// esbuild leaves a few characters beyond ASCII (in a regular expression, in comments). Decoding
// the file as UTF-8 then makes a two-byte string that took about 10 ms to decode and is slower
// to scan; escaped, the file is ASCII, which the loader reads as latin1 (one byte a character).
// \uXXXX means the same character in a string, a regular expression and a comment alike.
const [bundle] = outputFiles;
const ascii = bundle.text.replace(
  /[^\0-\x7f]/g,
  (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
);
writeFileSync(bundle.path, ascii);
