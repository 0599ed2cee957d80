// Build step after tsc: lib/remote.sh is not TypeScript, so tsc does not emit it, yet
// dist/lib/remote-script.js reads it at run time. Copying it beside that module puts it inside
// `files` (dist/lib), so the published tarball carries it.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../lib/remote.sh', import.meta.url));
const target = fileURLToPath(new URL('../dist/lib/remote.sh', import.meta.url));
mkdirSync(fileURLToPath(new URL('../dist/lib/', import.meta.url)), { recursive: true });
copyFileSync(source, target);
