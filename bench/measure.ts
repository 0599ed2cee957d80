import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';

/** One measured run of a command. */
export interface Sample {
  ok: boolean;
  /** Wall time from spawn until the command and everything holding its stdout/stderr ended. */
  seconds: number;
  /** Why the run failed (exit status, timeout, bad output), one line. */
  error?: string;
  /** Peak resident set size of the measured program, KiB, when asked for. */
  rssKiB?: number;
  /** Bytes sent over `lo` during the run, when measured (inside our own namespace). */
  wireBytes?: number;
  /** Bytes of input the command was fed, when the case counts them (`Case.inputCount`). */
  inputBytes?: number;
  /** CPU-seconds of the command and the sshd sessions it caused, when measured (cpu-meter.ts). */
  cpuSeconds?: number;
}

/** What a finished command left: its status and the tails of its output. */
export interface Finished {
  seconds: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

const TAIL = 64 * 1024;
const KILL_AFTER_MS = 3_000;

// The process group of the command running now, so an interrupt can stop it.
let running: number | undefined;

/** Stops the command that is running now, if any (its whole process group). */
export function killRunning(): void {
  if (running !== undefined) {
    try {
      process.kill(-running, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `script` with bash in a process group of its own and times it with hrtime. The clock
 * stops at 'close', i.e. once every process holding its stdout or stderr (process
 * substitutions such as `>(md5sum >&2)` included) has finished. On timeout the whole group is
 * killed. Never throws for a failing command.
 */
export function runScript(
  script: string,
  timeoutMs: number,
  env?: NodeJS.ProcessEnv,
): Promise<Finished> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn('bash', ['-c', script], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    running = child.pid;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (text: string) => {
      stdout = (stdout + text).slice(-TAIL);
    });
    child.stderr.setEncoding('latin1').on('data', (text: string) => {
      stderr = (stderr + text).slice(-TAIL);
    });
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killRunning();
      killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, KILL_AFTER_MS);
    }, timeoutMs);
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      clearTimeout(killer);
      if (running === child.pid) running = undefined;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      resolve({ seconds, exitCode, signal, timedOut, stdout, stderr });
    };
    child.once('error', (error) => {
      stderr += error.message;
      finish(null, null);
    });
    child.once('close', finish);
  });
}

/** The one-line reason a finished command counts as failed, or undefined if it succeeded. */
export function failureOf(finished: Finished, timeoutMs: number): string | undefined {
  if (finished.timedOut) return `timeout after ${Math.round(timeoutMs / 1000)} s`;
  if (finished.exitCode === 0) return undefined;
  const status = finished.signal ? `signal ${finished.signal}` : `exit ${finished.exitCode}`;
  const last = lastLine(finished.stderr) || lastLine(finished.stdout);
  return last ? `${status}: ${last}` : status;
}

const lastLine = (text: string): string =>
  text
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .pop()
    ?.replace(/[\x00-\x1f\x7f]/g, '?')
    .slice(0, 200) ?? '';

const GNU_TIME = '/usr/bin/time';

/** How peak RSS is measured here: GNU time when installed, else a preload in node itself. */
export const rssMethod = (): 'gnu-time' | 'node-preload' =>
  existsSync(GNU_TIME) ? 'gnu-time' : 'node-preload';

/**
 * The command prefix that runs node and records its peak RSS (KiB) in `file`: GNU
 * `/usr/bin/time -f %M` (the maximum over node and the children it waited for, i.e. ssh,
 * which are far smaller), or, without GNU time, a preload that writes
 * `process.resourceUsage().maxRSS` when node exits.
 */
export function nodeWithPeakRss(file: string, probe: string): string {
  if (rssMethod() === 'gnu-time') return `${GNU_TIME} -f %M -o ${file} node`;
  return `SSHSTREAM_BENCH_RSS_FILE=${file} node --import ${probe}`;
}

/** Reads and removes what {@link nodeWithPeakRss} recorded; undefined when nothing was. */
export async function takePeakRss(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  await rm(file, { force: true });
  // GNU time writes "Command exited with non-zero status N" before the value on failure.
  const value = Number(text.trim().split('\n').pop());
  return text.trim() !== '' && Number.isFinite(value) ? value : undefined;
}
