// The remote side of sshstream: one POSIX sh script, run through a bootstrap that every login
// shell (sh, bash, zsh, ksh, fish, tcsh, BusyBox ash, mksh, yash, and rc, which is not POSIX)
// reads the same way.
//
// sshd hands our command string to the user's login shell, and quoting rules differ between
// shells (fish treats `\` inside single quotes as an escape, tcsh rejects newlines in quotes and
// expands `!`, rc quotes only with single quotes). So the command string contains only:
// `exec sh -c '<BOOTSTRAP>' sshstream` followed by arguments made of octal digits. The bootstrap
// holds no backslash, `!`, newline or single quote; the script (remote.sh) turns each digit
// triple into a printf octal escape. Every argument reaches the script byte-exact, and no byte
// the user typed is ever parsed by any shell.
//
// The script itself does not travel on the command line (Dropbear refuses commands over 9,000
// bytes): it comes first on the session's stdin, up to an empty line, read by sh's `read`,
// which never reads past the newline, so what follows is left for the script. A session whose
// stdin is taken (ssh reading a local file itself) runs a copy that the control session of the
// same transfer saved in a private file instead.

import { readFileSync } from 'node:fs';

// Reads the script from stdin up to the empty line; EOF before it runs nothing. $n is a newline
// (echo makes it: no backslash here, and no process start but the one subshell).
const FROM_STDIN =
  'n=$(echo;printf x);n=${n%x};' +
  's=;while :;do IFS= read -r l||exit 2;[ -n "$l" ]||break;s=$s$l$n;done;eval "$s"';

// The same for a session whose stdin carries nothing after the script until the script has
// replied (a control session): head reads it in blocks, where sh's `read` takes one byte per
// system call (17,000 for the script, 10-40 ms a session here); nothing follows for head to
// read past. (Not sed: BusyBox sed reads a line ahead, and would wait for one.) A script cut
// short (EOF before the empty line) is not the length it should be: it runs nothing. %l: its
// line count with the empty line, %c: its length (it is ASCII: characters and bytes agree).
const FROM_STDIN_AT_ONCE = 's=$(head -n %l);[ ${#s} = %c ]||exit 2;eval "$s"';

// Runs the saved copy named by the first argument, which it decodes first: d() decodes one
// octal argument, with $b a backslash (made by awk).
const FROM_FILE =
  'b=$(awk -v f=%c "BEGIN{printf(f,92)}");' +
  'd(){ printf "$(printf %s "$1" | sed "s/^x//;s/[0-7][0-7][0-7]/$b$b&/g")"; };' +
  'f=$(d "$1");shift;. "$f"';

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

/**
 * Encodes bytes as a printf format that prints them: an octal escape per byte (`\101` for A).
 * For a line on the control session's stdin, where a backslash reaches the script as it is.
 */
export function encodePrintfFormat(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += '\\' + byte.toString(8).padStart(3, '0');
  return out;
}

/**
 * The remote command string: bootstrap, then the encoded arguments. The session's stdin must
 * start with {@link SCRIPT_INPUT}.
 */
export function buildRemoteCommand(args: readonly (string | Uint8Array)[]): string {
  return `exec sh -c '${FROM_STDIN}' sshstream ${args.map(encodeArgument).join(' ')}`;
}

/**
 * {@link buildRemoteCommand} for a session that writes nothing after {@link SCRIPT_INPUT}
 * until the script has reported (a control session): it reads the script faster.
 */
export function buildControlCommand(args: readonly (string | Uint8Array)[]): string {
  const lines = REMOTE_SCRIPT.split('\n').length + 1;
  const bootstrap = FROM_STDIN_AT_ONCE.replace('%l', String(lines)).replace(
    '%c',
    String(REMOTE_SCRIPT.length),
  );
  return `exec sh -c '${bootstrap}' sshstream ${args.map(encodeArgument).join(' ')}`;
}

/**
 * The remote command string for a session whose stdin is not ours to write: runs the script
 * saved at `scriptPath` (see {@link savedScriptPath}) with the encoded arguments.
 */
export function buildSavedScriptCommand(
  scriptPath: string | Uint8Array,
  args: readonly (string | Uint8Array)[],
): string {
  const encoded = [scriptPath, ...args].map(encodeArgument);
  return `exec sh -c '${FROM_FILE}' sshstream ${encoded.join(' ')}`;
}

/**
 * Where the control session of a push to `path` saves the script for sessions that cannot get it
 * on stdin: beside the destination (a directory the push can write to), named by the tag. The
 * remote script computes the same name (`$dir/.sshstream-$tag.sh`).
 */
export function savedScriptPath(path: string, tag: string): string {
  const p = path.startsWith('/') ? path : `./${path}`;
  const dir = p.slice(0, p.lastIndexOf('/')) || '/';
  return `${dir}/.sshstream-${tag}.sh`;
}

/**
 * The remote script, read once, without comments, indentation or blank lines. The build copies
 * lib/remote/remote.sh beside this module (dist/lib/remote/remote.sh), so the published package carries it.
 */
const REMOTE_SCRIPT = compactScript(readFileSync(new URL('./remote.sh', import.meta.url), 'utf8'));

/** What every session started by {@link buildRemoteCommand} reads first on stdin. */
export const SCRIPT_INPUT = `${REMOTE_SCRIPT}\n\n`;

// Comments and indentation are dead weight on every session's stdin, and an empty line ends
// the script. Safe because remote.sh has no here-documents or multi-line strings.
function compactScript(script: string): string {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n');
}
