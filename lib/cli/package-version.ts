import { readFileSync } from 'node:fs';

// `--version` must name the installed sshstream, not whatever project runs it
// (npm_package_version) nor a number written into the code: read our own package.json, which
// sits three levels above the compiled module (dist/lib/cli/ -> package root) in the repository and
// in node_modules/sshstream alike.
/** The `version` field of sshstream's own package.json. */
export function packageVersion(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version?: unknown };
  if (typeof manifest.version !== 'string') throw new Error('package.json has no version');
  return manifest.version;
}
