#!/usr/bin/env node
// The `sshstream` command. The CLI is one CommonJS bundle beside this file
// (scripts/bundle-cli.mjs), compiled with V8's code cache (lib/cli/cached-bundle.ts).
import { fileURLToPath } from 'node:url';
import { loadCachedBundle } from '../lib/cli/cached-bundle.js';
import type { main } from '../lib/cli/program.js';

const argv = process.argv.slice(2);
// Each subcommand compiles functions of its own: each keeps a code cache of its own.
const name = ['push', 'pull', 'demo'].includes(argv[0] ?? '') ? argv[0]! : 'other';
const bundle = loadCachedBundle(fileURLToPath(new URL('./cli.cjs', import.meta.url)), name);
process.exitCode = await (bundle.exports as { main: typeof main }).main(argv);
// A failed run (a usage error, a host that is down) has compiled little of the CLI.
if (process.exitCode === 0) bundle.saveCache();
