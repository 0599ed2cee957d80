// The remote side of sshstream: one POSIX sh script, run through a bootstrap that every login
// shell (sh, bash, zsh, ksh, fish, tcsh) reads the same way.
//
// sshd hands our command string to the user's login shell, and quoting rules differ between
// shells (fish treats `\` inside single quotes as an escape, tcsh rejects newlines in quotes and
// expands `!`). So the command string contains only: `exec sh -c '<BOOTSTRAP>' sshstream`
// followed by arguments made of octal digits. The bootstrap holds no backslash, `!`, newline or
// single quote; it makes a backslash with awk, turns each digit triple into a printf octal
// escape, and evals the decoded script. Every argument reaches the script byte-exact, and no
// byte the user typed is ever parsed by any shell.

import { readFileSync } from 'node:fs';

const BOOTSTRAP =
  'b=$(awk -v f=%c "BEGIN{printf(f,92)}");' +
  'd(){ printf "$(printf %s "$1" | sed "s/^x//;s/[0-7][0-7][0-7]/$b$b&/g")"; };' +
  'eval "$(d "$1")"';

/**
 * Encodes bytes as octal digit triples, the only alphabet every shell reads literally, after an
 * `x` so that an empty argument is still a word.
 */
export function encodeArgument(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  let out = 'x';
  for (const byte of bytes) out += byte.toString(8).padStart(3, '0');
  return out;
}

/** The full remote command string: bootstrap, the script, then the encoded arguments. */
export function buildRemoteCommand(args: readonly (string | Uint8Array)[]): string {
  const encoded = [REMOTE_SCRIPT, ...args].map(encodeArgument);
  return `exec sh -c '${BOOTSTRAP}' sshstream ${encoded.join(' ')}`;
}

/**
 * The remote script, read once, without comments and indentation. The build copies lib/remote.sh
 * beside this module (dist/lib/remote.sh), so the published package carries it.
 */
export const REMOTE_SCRIPT = compactScript(
  readFileSync(new URL('./remote.sh', import.meta.url), 'utf8'),
);

// The script travels three bytes per byte on every command line; comments and indentation are
// dead weight. Safe because remote.sh has no here-documents or multi-line strings.
function compactScript(script: string): string {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n');
}
