import { fstatSync } from 'node:fs';
import { createProgress } from '../transforms/progress.js';
import { transferOptionsOf, type TransferFlags } from './cli-options.js';
import { printResult, progressMode } from './cli-report.js';
import { UsageError } from './errors.js';
import { escapeControl } from './escape.js';
import { MemoryPacer } from './memory-pacer.js';
import { push } from './transfer.js';

/** Flags of `sshstream push`. */
export interface PushFlags extends TransferFlags {
  mode?: string;
  mkdir?: boolean;
  resume?: boolean;
  retries?: number;
}

/** `sshstream push`: stdin -> the remote file, verified and committed atomically. */
export async function runPush(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
): Promise<void> {
  const context = { operation: 'push', target };
  if (process.stdin.isTTY) {
    throw new UsageError(
      'stdin is a terminal: pipe the data in, e.g. cat FILE | sshstream push HOST:PATH',
      context,
    );
  }
  const size = sizeOfStdin();
  const resumable = flags.resume === true || (flags.retries ?? 0) > 0;
  if (resumable && size === undefined) {
    throw new UsageError(
      '--resume and --retries need stdin to be a regular file (sshstream push HOST:PATH < FILE): a pipe cannot be read again',
      context,
    );
  }
  const mode = progressMode(flags);
  const result = await push(resumable ? { fd: 0 } : process.stdin, target, {
    ...transferOptionsOf(flags),
    mode: flags.mode,
    mkdir: flags.mkdir,
    resume: flags.resume,
    retries: flags.retries,
    signal,
    onRetry: (attempt, error, delayMs) => {
      process.stderr.write(
        `sshstream: ${escapeControl(error.message)}; retry ${attempt - 1} of ${flags.retries} in ${delayMs / 1000}s\n`,
      );
    },
    through: (stream) => {
      if (!mode) return [new MemoryPacer()];
      const progress = createProgress({
        output: process.stderr,
        label: `push ${target}`,
        mode,
        ...(size === undefined ? {} : { total: size }),
      });
      stream.once('verify', () =>
        progress.setPhase(`verifying ${flags.checksum} on the remote side…`),
      );
      stream.once('close', () => progress.done());
      return [progress, new MemoryPacer()];
    },
  });
  printResult(result, flags, 'pushed');
}

// A regular file on stdin has a size (for percent and ETA) and can be read again (for resume).
function sizeOfStdin(): number | undefined {
  try {
    const stat = fstatSync(0);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}
