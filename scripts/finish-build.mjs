// Build step after tsc, for what tsc does not do: the published package is dist/bin, dist/lib
// and dist/transforms (package.json `files`), so everything the runtime reads must be there.
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

// lib/remote/remote.sh is not TypeScript, so tsc does not emit it, yet dist/lib/remote/script.js reads
// it at run time: put it beside that module.
copyFileSync(
  fileURLToPath(new URL('../lib/remote/remote.sh', import.meta.url)),
  `${dist}lib/remote/remote.sh`,
);

// sourceMap is off (the .ts sources are not published, so maps would point at nothing); maps
// left in dist/ by an earlier build would still be packed, so remove them.
for (const entry of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
  if (entry.endsWith('.map')) rmSync(`${dist}${entry}`);
}
