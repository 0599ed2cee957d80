// The CLI run under a umask of the test's choosing, optionally traced by strace: what the
// local side does to its files (fsync, rename, who writes when) shows only there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from './cli.js';

/**
 * Runs the CLI with `args` under `sh -c 'umask MASK; exec …'`; with `trace`, under
 * `strace -f -qq CALLS` logging into that file (`calls`: strace's options, such as
 * `['-e', 'trace=fsync']`).
 */
export function runCliTraced(
  args: string[],
  mask: string,
  trace?: { file: string; calls: string[] },
): Promise<{ code: number | null; stderr: string }> {
  const tracer = trace ? `exec strace -f -qq ${trace.calls.join(' ')} -o "$0" "$@"` : 'exec "$@"';
  const child = spawn(
    'sh',
    ['-c', `umask ${mask}; ${tracer}`, trace?.file ?? 'sh', process.execPath, CLI, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

// In an strace -y log, whether `line` is a `call` on a descriptor whose path matches `path`.
const callOn =
  (call: string, path: RegExp) =>
  (line: string): boolean => {
    const named = new RegExp(`(?:^|\\s)${call}\\(\\d+<([^>]*)>`).exec(line);
    return named !== null && path.test(named[1]!);
  };

/**
 * Asserts that the strace -y log `log` shows an fsync of a file whose path matches `file`
 * before the last `call` on it (`'p?write(?:64)?'`, say): it was flushed while that went on.
 */
export function assertFlushedBeforeLast(log: string, file: RegExp, call: string): void {
  const lines = log.split('\n');
  const flushed = lines.findIndex(callOn('fsync', file));
  const called = callOn(call, file);
  let last = lines.length - 1;
  while (last >= 0 && !called(lines[last]!)) last--;
  assert.ok(last >= 0, `no ${call} on ${file} seen`);
  assert.ok(
    flushed >= 0 && flushed < last,
    `the first fsync (line ${flushed}) is not before the last ${call} (line ${last})`,
  );
}
