import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';
import { codeCacheDirectory, readCodeCache, writeCodeCache } from './code-cache-file.js';

/** A CommonJS bundle that has run, and the means to keep its compiled code for next time. */
export interface LoadedBundle {
  /** The bundle's `module.exports`. */
  exports: unknown;
  /**
   * Stores V8's code for the bundle when the cache lacked it (or V8 rejected it). Called once
   * the command has run, the code then includes the functions it compiled on first call.
   */
  saveCache(): void;
}

// Node 20 has no compile cache for modules (module.enableCompileCache is 22.1+): compiling the
// CLI's bundle, about 600 KB, took about 100 ms at each start, which a 1 KiB push pays in full.
// Compiled through vm.Script, V8 takes its code from `cachedData` instead.
/**
 * Runs the CommonJS bundle `file` as Node would (`exports`, `require`, `module`, `__filename`,
 * `__dirname`), with V8's code cache from the user's cache directory under the name `name`
 * (one per kind of run: each compiles different functions). A missing, foreign or broken
 * cache only means compiling as usual.
 */
export function loadCachedBundle(file: string, name: string): LoadedBundle {
  const bytes = readFileSync(file);
  const cache = cacheOf(bytes, file, name);
  const cachedData = cache && readCodeCache(cache.path, cache.key);
  // The build made the bundle ASCII (scripts/bundle-cli.mjs): latin1 is exact, and fast. On one
  // line with the bundle's first, as Node's own wrapper, so stack traces keep their lines.
  const source = `(function (exports, require, module, __filename, __dirname) {${bytes.toString('latin1')}\n})`;
  const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as unknown };
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  return {
    exports: module.exports,
    saveCache: () => {
      // V8 flags set since (the CLI's --expose-gc) make code a fresh process would reject.
      if (!cache || !stale || cachedDataVersionTag() !== cache.tag) return;
      try {
        writeCodeCache(cache.path, cache.key, script.createCachedData());
      } catch {
        // No cache this time; the command has done its work.
      }
    },
  };
}

// Where the cache for this bundle lives and what it must match: the bundle's bytes (their size
// and CRC; their first line names the package version), its path, and the V8 that compiles it
// (its version, flags and CPU features: the version tag). One file per name and node, so two
// nodes do not evict each other; a new bundle replaces its old file. The CRC tells a rebuilt or
// upgraded bundle from the one cached; it needs to stand against no one: whoever can write
// the bundle can run code as us anyway. The path is there because V8 keeps the script's name
// in its cache: another install's cache would make stack traces name that install's file.
// (Its CRC: a path may hold a tab or a newline, which the cache file's header line cannot.)
function cacheOf(
  bytes: Buffer,
  file: string,
  name: string,
): { path: string; key: string; tag: number } | undefined {
  try {
    const dir = codeCacheDirectory();
    if (dir === undefined) return undefined;
    const { version, arch } = process;
    const tag = cachedDataVersionTag();
    const key = `${bytes.length} ${crc32(bytes)} ${crc32(file)} ${version} ${tag}`;
    return { path: join(dir, `${name}-${version}-${arch}.v8`), key, tag };
  } catch {
    return undefined;
  }
}
