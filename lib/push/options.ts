import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { CompressionChoice } from '../../transforms/compress.js';
import { checkCompressLevel } from '../util/compress-level.js';
import type { DirectInput } from './direct-input.js';
import { UsageError, type ErrorContext } from '../util/errors.js';
import type { TransferResult } from '../util/result.js';
import { buildSshInvocation, type SshOptions } from '../ssh/command.js';
import type { StallOptions } from '../util/stall-watchdog.js';
import type { Streams } from '../util/streams.js';
import { parseTarget, type Target } from '../ssh/target.js';

/** Options of a push: where ssh connects and how the bytes travel. */
export interface PushOptions extends SshOptions, StallOptions {
  /** Hash over the uncompressed bytes on both ends. Default 'md5'. */
  checksum?: ChecksumAlgorithm;
  /**
   * Compress on the wire (hashes stay over the uncompressed bytes). `'auto'`: only when the
   * first 64 KiB of the input shrink below 90%, with zstd if both ends have it, else gzip.
   */
  compress?: CompressionChoice | undefined;
  /** Compression level (gzip 1-9, zstd 1-19). */
  compressLevel?: number | undefined;
  /** Permission bits of the file, e.g. 0o640 or '640'. Default: keep an existing file's, else 0666 & ~umask. */
  mode?: number | string | undefined;
  /** Create missing parent directories on the remote host. */
  mkdir?: boolean | undefined;
  /** Limit the rate on the wire, in bytes per second. */
  limitRate?: number | undefined;
  /**
   * For a destination that cannot be renamed over (a bind-mounted file, Docker's `-v file:file`):
   * the data still lands in a temporary file and is verified there, then it is copied over the
   * existing file in place, written back and hashed again. Not atomic: a failure during that copy
   * leaves the destination damaged. A missing destination is still renamed into place.
   */
  inplace?: boolean | undefined;
  /**
   * SSH channels that carry a regular file in parallel ranges; 1 turns it off. Default 'auto':
   * chosen from the round-trip time and the size (see Streams).
   */
  streams?: Streams | undefined;
  /**
   * Keeps every stream of a transfer in ranges on the one connection. By default each further
   * stream opens a connection of its own where that logs in without asking (a key or an
   * agent: never a second prompt), since on a long link one TCP connection's window caps it
   * however many channels ride it.
   */
  singleConnection?: boolean | undefined;
  /** Aborting kills ssh, removes the remote temporary file and rejects with AbortError. */
  signal?: AbortSignal | undefined;
  /**
   * Resumable: a failed transfer keeps its remote partial file (`.NAME.sshstream-partial`), and
   * a partial file left by an earlier resumable push is continued when its content equals the
   * beginning of the input (re-read from `resumeSource`); otherwise it starts over. The whole
   * file is still verified before the commit.
   */
  resume?: boolean | undefined;
  /**
   * Called once the input has ended and before the commit, with the number of bytes sent. A
   * throw (or rejection) calls the push off: nothing is committed and the promise rejects with
   * that error. E.g. wait for the process that produced the input and refuse unless it exited 0.
   */
  beforeCommit?: ((bytes: number) => void | Promise<void>) | undefined;
}

/**
 * How the push functions of this package feed a PushStream: an input that is not a plain
 * stream of chunks. Not public: each needs a caller that knows the input's shape.
 */
export interface PushInternals {
  /**
   * The digest of the input, computed elsewhere over the same bytes (a fan-out hashes its input
   * once for all targets); this stream then only counts. Called after the input has ended.
   */
  digestSource?: (() => Promise<string>) | undefined;
  /** The input again, as a local path or file descriptor (read with pread), to check a partial file. */
  resumeSource?: string | number | undefined;
  /**
   * The input is this descriptor of a regular file, from `start` on, and ssh reads it itself:
   * no byte passes through node (the local hash reads the range with pread). Write nothing to
   * the stream; end() it. Not with compress or limitRate; with resume only from offset 0 (it then
   * travels in ranges, see RangesDelivery). With digestSource (a fan-out's
   * copy of its input) the file is only counted, and verified against that digest.
   */
  direct?: DirectInput | undefined;
}

/** What a verified and committed push reports. */
export type PushResult = TransferResult;

/**
 * An input of at most this many bytes, complete by the time the connection is up, travels on
 * the control session itself (octal-encoded, about 3 bytes per byte): no second session to
 * start, which costs a login shell's start-up (with a heavy .bashrc, more than the transfer).
 */
export const INLINE_LIMIT = 16 * 1024;

/**
 * Whether the whole input is already here (`ended`, `buffered` bytes) and small enough to go
 * inline: compression or a rate limit would not matter for it; a resumable push keeps the data
 * session's partial-file handling, and a file read by offset is not written to the stream.
 */
export function fitsInline(
  { resume, limitRate }: PushOptions,
  internals: PushInternals,
  ended: boolean,
  buffered: number,
): boolean {
  return !resume && !limitRate && !internals.direct && ended && buffered <= INLINE_LIMIT;
}

/** Checks target and options, synchronously: bad arguments throw before any work starts. */
export function checkPush(
  target: string,
  options: PushOptions & PushInternals,
): { target: Target; context: ErrorContext } {
  const parsed = parseTarget(target, 'push');
  const context = { operation: 'push', target: parsed.display };
  modeArgument(options.mode, context);
  checkCompressLevel(options.compress, options.compressLevel, context);
  buildSshInvocation(parsed, options, [], ''); // refuses a bad jump host now, not later
  const { direct, compress, limitRate, resume } = options;
  if (direct && (compress || limitRate)) {
    throw new UsageError('a direct input cannot be combined with compress or limitRate', context);
  }
  // Ranges resume by offset from the start of the file (see landedRanges).
  if (direct && resume && direct.start !== 0) {
    throw new UsageError('a direct input resumes only from the start of its file', context);
  }
  return { target: parsed, context };
}

/** The mode as the remote script takes it: octal digits, or '' to keep the file's own. */
export function modeArgument(mode: number | string | undefined, context: ErrorContext): string {
  if (mode === undefined) return '';
  const value =
    typeof mode === 'number' ? mode : /^[0-7]{1,4}$/.test(mode) ? parseInt(mode, 8) : NaN;
  if (!Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw new UsageError(
      `invalid mode ${JSON.stringify(String(mode))}: expected octal like 644`,
      context,
    );
  }
  return value.toString(8);
}
