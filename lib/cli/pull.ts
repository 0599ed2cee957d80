import type { Duplex, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createProgress } from '../../transforms/progress.js';
import { transferOptionsOf, type TransferFlags } from './options.js';
import { printResult, progressMode } from './report.js';
import { LocalIOError, SshStreamError, UsageError, isInternalError } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';
import { MemoryPacer } from './memory-pacer.js';
import { createPullStream, type PullOptions } from '../pull/pull.js';
import type { PullStream } from '../pull/pull-stream.js';
import { stdoutWasClosed } from './stdout-closed.js';
import { pull } from '../pull/pull-with-retries.js';
import type { SessionStarter } from '../pull/pull-session.js';
import { openStdoutFile, pullToStdoutFile } from '../pull/stdout-file.js';

/** Exit status when the reader of stdout went away early (128 + SIGPIPE, as `cat` gives). */
const EXIT_READER_CLOSED = 141;

/** Flags of `sshstream pull`. */
export interface PullFlags extends TransferFlags {
  resume?: boolean;
  retries?: number;
}

/** `sshstream pull`: the remote file -> stdout, or atomically into a local file. */
export async function runPull(
  source: string,
  file: string | undefined,
  flags: PullFlags,
  signal: AbortSignal,
): Promise<number> {
  const options: PullOptions = {
    ...transferOptionsOf(flags),
    signal,
  };
  if (file === undefined) {
    if (flags.resume || flags.retries) {
      throw new UsageError('--resume and --retries need a local FILE to pull into', {
        operation: 'pull',
        target: source,
      });
    }
    return pullToStdout(source, options, flags);
  }
  const result = await pull(source, file, {
    ...options,
    resume: flags.resume,
    retries: flags.retries,
    onRetry: (attempt, error, delayMs) => {
      process.stderr.write(
        `sshstream: ${escapeControl(error.message)}; retry ${attempt - 1} of ${flags.retries} in ${delayMs / 1000}s\n`,
      );
    },
    through: (stream) => progressFor(stream, source, flags),
    meter: () => meterFor(source, flags, false),
  });
  printResult(result, flags, 'pulled');
  return 0;
}

async function pullToStdout(
  source: string,
  options: PullOptions,
  flags: PullFlags,
): Promise<number> {
  // Checked before connecting: the data would go nowhere, and the pull would say "verified".
  if (stdoutWasClosed()) {
    throw new LocalIOError('cannot write output: stdout is closed (give a FILE, or redirect it)', {
      operation: 'pull',
      target: source,
    });
  }
  const file = await openStdoutFile();
  if (!file) return pullThroughNode(source, options, flags, undefined);
  try {
    const meter = () => meterFor(source, flags, true);
    const outcome = await pullToStdoutFile(source, file, options, meter, (starter) =>
      pullThroughNode(source, options, flags, starter),
    );
    if (typeof outcome === 'number') return outcome;
    printResult(outcome, flags, 'pulled');
    return 0;
  } finally {
    await file.file.close();
  }
}

// The pull's bytes pass through node on their way to stdout (a pipe, a terminal, a device).
async function pullThroughNode(
  source: string,
  options: PullOptions,
  flags: PullFlags,
  starter: SessionStarter | undefined,
): Promise<number> {
  const stream = createPullStream(source, options, starter);
  const stages = progressFor(stream, source, flags, true);
  let readerClosed = false;
  const stdout: Writable = process.stdout;
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') readerClosed = true;
  });
  try {
    await pipeline([stream, ...stages, stdout]);
  } catch (error) {
    if (readerClosed || (error as NodeJS.ErrnoException).code === 'EPIPE')
      return EXIT_READER_CLOSED;
    const own = await stream.result.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (own instanceof SshStreamError) throw own;
    if (error instanceof SshStreamError || isInternalError(error)) throw error;
    throw new LocalIOError(`cannot write output: ${(error as Error).message}`, {
      operation: 'pull',
      target: source,
      cause: error,
    });
  }
  printResult(await stream.result, flags, 'pulled');
  return 0;
}

// The progress meter of a pull whose bytes pass through no stream (ssh writes them), if any.
function meterFor(source: string, flags: PullFlags, toStdout: boolean) {
  const mode = progressMode(flags, toStdout);
  return mode && createProgress({ output: process.stderr, label: `pull ${source}`, mode });
}

// A progress meter that learns the size from the remote header.
// (And the memory pacer: the CLI's stages of every pull.)
function progressFor(
  stream: PullStream,
  source: string,
  flags: PullFlags,
  toStdout = false,
): Duplex[] {
  const mode = progressMode(flags, toStdout);
  if (!mode) return [new MemoryPacer()];
  const progress = createProgress({ output: process.stderr, label: `pull ${source}`, mode });
  stream.once('size', (size: number | undefined) => {
    if (size !== undefined) progress.setTotal(size - stream.offset);
  });
  // On the meter itself: the pull stream already carries a listener per pipeline stage.
  progress.once('close', () => progress.done());
  return [progress, new MemoryPacer()];
}
