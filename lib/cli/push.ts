import { isatty } from 'node:tty';
import { createProgress } from '../../transforms/progress.js';
import { transferOptionsOf, type PushFlags } from './options.js';
import { connectedOf } from './connected.js';
import { printResult, progressMode } from './report.js';
import { UsageError } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';
import { MemoryPacer } from './memory-pacer.js';
import { startProducer } from './producer.js';
import { push, type PushWithRetriesOptions } from '../push/push-with-retries.js';
import { directStart, pushFileDirect } from './push-direct.js';
import { statOfStdin, stdinStream, unchangedFile } from './stdin-input.js';
import { withRetries } from '../util/retry.js';

/** `sshstream push`: stdin -> the remote file, verified and committed atomically. */
export async function runPush(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
  command: readonly string[] = [],
): Promise<void> {
  const context = { operation: 'push', target };
  if (command.length > 0) return runPushCommand(target, flags, signal, command);
  // isatty, not process.stdin.isTTY: a direct push must not have node open a stream on stdin.
  if (isatty(0)) {
    throw new UsageError(
      'stdin is a terminal: pipe the data in, e.g. cat FILE | sshstream push HOST:PATH',
      context,
    );
  }
  const stdin = statOfStdin(context);
  const size = stdin.isFile() ? stdin.size : undefined;
  const resumable = flags.resume === true || (flags.retries ?? 0) > 0;
  if (resumable && size === undefined) {
    throw new UsageError(
      '--resume and --retries need stdin to be a regular file (sshstream push HOST:PATH < FILE): a pipe cannot be read again',
      context,
    );
  }
  const mode = progressMode(flags);
  const start = size !== undefined ? directStart(size, flags, resumable) : undefined;
  const retrying = { retries: flags.retries, onRetry: retryNotice(flags.retries), signal };
  if (size !== undefined && start !== undefined) {
    const how = { size, start, mode, resume: resumable };
    const result = await withRetries(retrying, () => pushFileDirect(target, flags, signal, how));
    return printResult(result, flags, 'pushed');
  }
  const result = await push(resumable ? { fd: 0 } : stdinStream(stdin), target, {
    ...pushOptionsOf(flags, signal, size, mode, target),
    ...retrying,
    resume: flags.resume,
    ...(size === undefined ? {} : { beforeCommit: unchangedFile(size, resumable, context) }),
  });
  printResult(result, flags, 'pushed');
}

// Options of a push through node: the flags, and progress (or only memory pacing).
function pushOptionsOf(
  flags: PushFlags,
  signal: AbortSignal,
  size: number | undefined,
  mode: ReturnType<typeof progressMode>,
  target: string,
): PushWithRetriesOptions {
  return {
    ...transferOptionsOf(flags),
    mode: flags.mode,
    mkdir: flags.mkdir,
    inplace: flags.inplace,
    signal,
    through: (stream) => {
      if (!mode) return [new MemoryPacer()];
      const progress = createProgress({
        output: process.stderr,
        label: `push ${target}`,
        mode,
        ...(size === undefined ? {} : { total: size }),
        after: connectedOf(stream),
      });
      stream.once('verify', () =>
        progress.setPhase(`verifying ${flags.checksum} on the remote side…`),
      );
      stream.once('close', () => progress.done());
      return [progress, new MemoryPacer()];
    },
  };
}

// `push HOST:PATH -- COMMAND ARGS...`: the command's stdout is the input, committed only if
// the command exits 0.
async function runPushCommand(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
  command: readonly string[],
): Promise<void> {
  const context = { operation: 'push', target };
  if (flags.resume === true || (flags.retries ?? 0) > 0) {
    throw new UsageError(
      '--resume and --retries need stdin to be a regular file, not the output of a command',
      context,
    );
  }
  const mode = progressMode(flags);
  const producer = await startProducer(command, context);
  try {
    const result = await push(producer.output, target, {
      ...pushOptionsOf(flags, signal, undefined, mode, target),
      beforeCommit: () => producer.succeeded(),
    });
    printResult(result, flags, 'pushed');
  } finally {
    producer.stop();
  }
}

// `sshstream: CAUSE; retry 1 of 3 in 0.5s`
function retryNotice(retries: number | undefined) {
  return (attempt: number, error: Error, delayMs: number) => {
    process.stderr.write(
      `sshstream: ${escapeControl(error.message)}; retry ${attempt - 1} of ${retries} in ${delayMs / 1000}s\n`,
    );
  };
}
