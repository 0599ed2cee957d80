import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI entry point (tests run from dist/test). */
export const CLI = fileURLToPath(new URL('../../bin/sshstream.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** A running `sshstream` process with its output collected. */
export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
}

/**
 * Starts the real CLI as a child process; stdin and stdout are pipes, or the given file
 * descriptors (stdout then collects nothing).
 */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: number,
  stdout?: number,
): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: [stdin ?? 'pipe', stdout ?? 'pipe', 'pipe'],
  });
  const output: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin?.on('error', () => {});
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(output),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
  return { child, done };
}

/** Runs the CLI to completion with `input` on stdin. */
export async function runCli(
  args: readonly string[],
  input: Buffer | string = '',
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const run = startCli(args, env);
  run.child.stdin!.end(input);
  return run.done;
}

/**
 * Waits for `run` to exit, after ending its stdin with `input` when given. A CLI still running
 * after `hungAfterMs` has hung: it is killed, so that test fails instead of the whole suite.
 */
export async function settled(
  run: CliRun,
  input?: Buffer,
  hungAfterMs = 60_000,
): Promise<CliResult> {
  if (input) run.child.stdin!.end(input);
  const guard = setTimeout(() => run.child.kill('SIGKILL'), hungAfterMs);
  const result = await run.done;
  clearTimeout(guard);
  return result;
}

/** The lines of `stderr` that a user sees: all but the SSHSTREAM_DEBUG ones (`sshstream[…]`). */
export const shownLines = (stderr: string): string[] =>
  stderr.split('\n').filter((line) => !line.startsWith('sshstream['));
