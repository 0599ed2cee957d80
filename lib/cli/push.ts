import { createReadStream, fstatSync, readSync, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { AUTO_SAMPLE_BYTES, chooseCompression } from '../../transforms/compress.js';
import { isatty } from 'node:tty';
import { createProgress } from '../../transforms/progress.js';
import { compressionOf, transferOptionsOf, type TransferFlags } from './options.js';
import { connectedOf } from './connected.js';
import { printResult, progressMode } from './report.js';
import { LocalIOError, UsageError, VerificationError, type ErrorContext } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';
import { MemoryPacer } from './memory-pacer.js';
import { descriptorOffset, fileStamp } from '../push/direct-input.js';
import { startProducer } from './producer.js';
import type { PushResult } from '../push/options.js';
import type { PushStream } from '../push/push-stream.js';
import { push, pushDirect, type PushWithRetriesOptions } from '../push/push-with-retries.js';
import { withRetries } from '../util/retry.js';

/** Flags of `sshstream push`. */
export interface PushFlags extends TransferFlags {
  mode?: string;
  mkdir?: boolean;
  inplace?: boolean;
  resume?: boolean;
  retries?: number;
}

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

// A regular file on stdin read through node: the input must be the whole file from where
// stdin stood, unchanged (a file truncated underway would otherwise commit its prefix).
function unchangedFile(
  size: number,
  resumable: boolean,
  context: { operation: string; target: string },
): (bytes: number) => void {
  const stamp = fileStamp(0);
  const start = resumable ? 0 : descriptorOffset(0);
  return (bytes) => {
    const expected = start === undefined ? bytes : size - start;
    if (fileStamp(0) === stamp && bytes === expected) return;
    throw new VerificationError(
      `${bytes} bytes read, ${expected} expected; nothing committed (the input file changed while it was sent)`,
      { bytes: expected, digest: '' },
      { bytes, digest: '' },
      context,
    );
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

/** Below this size, starting the data session early (pumping through node) wins. */
const DIRECT_MIN_BYTES = 64 << 20;

// Where the push may read stdin by offset (ssh itself on one channel, or node in parallel
// ranges, see --streams), the offset to start from: a big regular file, or any regular file
// with --streams 2 or more, sent as it is (compression and rate limits need the bytes to pass
// through node; --compress auto sends data that does not compress as it is), on a system that
// tells descriptor offsets. A resumable push starts from 0 and goes in ranges, which is how it
// resumes; with --streams 1 it keeps the single-stream resume.
function directStart(size: number, flags: PushFlags, resumable: boolean): number | undefined {
  const forced = typeof flags.streams === 'number' && flags.streams > 1;
  if ((size < DIRECT_MIN_BYTES && !forced) || flags.limitRate) return undefined;
  if (resumable && flags.streams === 1) return undefined;
  const start = resumable ? 0 : descriptorOffset(0);
  const compress = compressionOf(flags);
  if (start === undefined || compress === undefined) return start;
  return compress === 'auto' && !compressesAt(0, start) ? start : undefined;
}

// The sample --compress auto decides on, read with pread (stdin's offset stays for ssh).
function compressesAt(fd: number, start: number): boolean {
  const sample = Buffer.alloc(AUTO_SAMPLE_BYTES);
  const length = readSync(fd, sample, 0, sample.length, start);
  return chooseCompression(sample.subarray(0, length), ['gzip']) !== undefined;
}

// ssh reads the file on stdin itself; progress follows the descriptor's offset as ssh reads.
async function pushFileDirect(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
  how: { size: number; start: number; mode: ReturnType<typeof progressMode>; resume: boolean },
): Promise<PushResult> {
  let connected = (): void => {};
  const after = new Promise<void>((resolve) => (connected = resolve));
  const progress = how.mode
    ? createProgress({
        output: process.stderr,
        label: `push ${target}`,
        mode: how.mode,
        total: how.size - how.start,
        after,
      })
    : undefined;
  // What the delivery has sent: ssh's offset in the file, or what the ranges carried.
  let stream: PushStream | undefined;
  const sent = () => stream?.moved ?? 0;
  const timer = progress && setInterval(() => progress.advanceTo(sent()), 200);
  try {
    return await pushDirect(
      { fd: 0, start: how.start },
      target,
      {
        ...transferOptionsOf(flags),
        compress: undefined, // none, or auto that found the data incompressible
        mode: flags.mode,
        mkdir: flags.mkdir,
        inplace: flags.inplace,
        resume: how.resume,
        signal,
      },
      (watched) => {
        stream = watched;
        watched.once('connected', connected);
        watched.once('verify', () => {
          progress?.advanceTo(how.size - how.start);
          progress?.setPhase(`verifying ${flags.checksum} on the remote side…`);
        });
      },
    );
  } finally {
    clearInterval(timer);
    progress?.done();
  }
}

// A regular file on stdin has a size (for percent and ETA) and can be read again (for resume).
// stdin that cannot be read at all (a directory) fails now, before anything connects.
function statOfStdin(context: ErrorContext): Stats {
  let stat: Stats;
  try {
    stat = fstatSync(0);
  } catch (error) {
    throw new LocalIOError(`cannot read input: ${(error as Error).message}`, {
      ...context,
      cause: error,
    });
  }
  if (stat.isDirectory()) {
    throw new LocalIOError('cannot read input: stdin is a directory (EISDIR)', context);
  }
  return stat;
}

// Node's process.stdin reads pipes, sockets and regular files, but for anything else (a block
// device, say) it is an empty stream that ends at once: that would commit an empty file. A
// plain read stream on descriptor 0 reads those, and a failed read errors the push.
function stdinStream(stat: Stats): Readable {
  if (stat.isFIFO() || stat.isSocket() || stat.isFile()) return process.stdin;
  return createReadStream('', { fd: 0, autoClose: false });
}
