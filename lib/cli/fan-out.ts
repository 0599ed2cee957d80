import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createProgress } from '../../transforms/progress.js';
import { transferOptionsOf } from './options.js';
import type { PushFlags } from './options.js';
import { progressMode } from './report.js';
import { connectedOf } from './connected.js';
import { LocalIOError, SshStreamError, UsageError } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';
import { FanOutPushStream } from '../push/fan-out.js';
import { FanOutError, type TargetOutcome } from '../push/fan-out-outcome.js';
import { formatBytes, formatDuration, formatRate } from '../../transforms/format.js';
import { MemoryPacer } from './memory-pacer.js';

/** Flags of a push to several targets. */
export interface FanOutFlags extends PushFlags {
  targets?: string;
  maxParallel?: number;
}

/** At most this much of a `--targets` file is read: a list of hosts, not a data file. */
const TARGETS_FILE_LIMIT = 1 << 20;
/** The longest line a `--targets` file may have. */
const TARGET_LINE_LIMIT = 4096;

/** Targets from the command line plus `--targets FILE` (one per line; blank lines and # comments skipped). */
export async function collectTargets(
  args: readonly string[],
  file: string | undefined,
): Promise<string[]> {
  if (file === undefined) return [...args];
  const fail = (reason: string): never => {
    throw new UsageError(`--targets ${escapeControl(JSON.stringify(file))}: ${reason}`, {
      operation: 'push',
    });
  };
  const bytes = await readAtMost(file, TARGETS_FILE_LIMIT + 1).catch((error: Error) =>
    fail(`cannot read: ${error.message}`),
  );
  if (bytes.length > TARGETS_FILE_LIMIT) {
    fail(`larger than ${TARGETS_FILE_LIMIT >> 20} MiB: not a list of targets`);
  }
  const lines = bytes.toString('utf8').split('\n');
  const long = lines.findIndex((line) => line.length > TARGET_LINE_LIMIT);
  if (long !== -1) fail(`line ${long + 1} is longer than ${TARGET_LINE_LIMIT} characters`);
  const fromFile = lines
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return [...args, ...fromFile];
}

// Reads at most `limit` bytes (so /dev/zero or a huge file by mistake costs nothing).
async function readAtMost(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const { bytesRead } = await handle.read(buffer, length, limit - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** `sshstream push T1 T2 ...`: stdin read once, sent to every target, each verified and committed. */
export async function runFanOut(
  targets: string[],
  flags: FanOutFlags,
  signal: AbortSignal,
): Promise<void> {
  const stream = new FanOutPushStream(targets, {
    ...transferOptionsOf(flags),
    mode: flags.mode,
    mkdir: flags.mkdir,
    inplace: flags.inplace,
    maxParallel: flags.maxParallel,
    // The waiting targets that read the local copy through node are paced like the input.
    spoolThrough: () => [new MemoryPacer()],
    signal,
  });
  const mode = progressMode(flags);
  // Nothing is drawn while ssh may be asking on the terminal: not before every target has
  // authenticated (or failed).
  const connected = connectedOf(stream);
  const progress = mode
    ? createProgress({
        output: process.stderr,
        label: `push to ${targets.length} targets`,
        mode,
        after: connected,
      })
    : undefined;
  stream.on('outcome', (outcome: TargetOutcome) => {
    if (flags.quiet || !mode) return;
    void connected.then(() => {
      progress?.setPhase(undefined);
      process.stderr.write(`${mode === 'tty' ? '\r\x1b[K' : ''}${outcomeLine(outcome)}\n`);
    });
  });
  try {
    const pacer = new MemoryPacer();
    await pipeline(
      progress ? [process.stdin, progress, pacer, stream] : [process.stdin, pacer, stream],
    );
  } catch (error) {
    progress?.done();
    if (error instanceof FanOutError) {
      report(error.outcomes, flags);
      throw error;
    }
    if (error instanceof SshStreamError) throw error;
    throw new LocalIOError(`cannot read input: ${(error as Error).message}`, { operation: 'push' });
  }
  progress?.done();
  report(await stream.result, flags);
}

function report(outcomes: TargetOutcome[], flags: FanOutFlags): void {
  if (flags.json) {
    for (const outcome of outcomes) {
      const line = outcome.ok
        ? { ok: true, ...outcome.result }
        : {
            target: outcome.target,
            ok: false,
            exitCode: outcome.exitCode,
            error: outcome.error.message,
          };
      process.stdout.write(JSON.stringify(line) + '\n');
    }
  }
  if (flags.quiet) return;
  const rows = outcomes.map((outcome) =>
    outcome.ok
      ? [
          outcome.target,
          formatBytes(outcome.result.bytes),
          formatDuration(outcome.result.seconds),
          formatRate(outcome.result.bytes / Math.max(outcome.result.seconds, 1e-6)),
          `verified ${outcome.result.algorithm} ${outcome.result.digest}`.trim(),
        ]
      : [
          outcome.target,
          '-',
          '-',
          '-',
          `error (exit ${outcome.exitCode}): ${reasonOf(outcome.error)}`,
        ],
  );
  const header = ['target', 'bytes', 'time', 'rate', 'result'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => escapeControl(row[column]!).length)),
  );
  for (const row of [header, ...rows]) {
    const cells = row.map((cell, column) =>
      column === row.length - 1 ? escapeControl(cell) : escapeControl(cell).padEnd(widths[column]!),
    );
    process.stderr.write(`${cells.join('  ')}\n`);
  }
}

function outcomeLine(outcome: TargetOutcome): string {
  const target = escapeControl(outcome.target);
  return outcome.ok
    ? `sshstream: ${target}: verified ${formatBytes(outcome.result.bytes)} in ${formatDuration(outcome.result.seconds)}`
    : `sshstream: ${target}: failed: ${reasonOf(outcome.error)}`;
}

function reasonOf(error: Error): string {
  return error instanceof SshStreamError ? error.reason : error.message;
}
