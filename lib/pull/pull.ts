import type { Hash } from 'node:crypto';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { localCompressions, type CompressionChoice } from '../../transforms/compress.js';
import { checkCompressLevel } from '../util/compress-level.js';
import { LocalIOError } from '../errors.js';
import { PullStream } from './pull-stream.js';
import type { TransferResult } from '../util/result.js';
import { buildSshInvocation, type SshOptions } from '../ssh/command.js';
import type { StallOptions } from '../util/stall-watchdog.js';
import { parseTarget } from '../ssh/target.js';

/** Options of a pull. */
export interface PullOptions extends SshOptions, StallOptions {
  /** Hash over the uncompressed bytes on both ends. Default 'md5'. */
  checksum?: ChecksumAlgorithm;
  /**
   * Compress on the wire. `'auto'`: the remote side samples the file's first 64 KiB and
   * compresses (zstd if both ends have it, else gzip) only when they shrink below 90%.
   */
  compress?: CompressionChoice | undefined;
  /** Limit the rate on the wire, in bytes per second. */
  limitRate?: number | undefined;
  /** Compression level (gzip 1-9, zstd 1-19), applied on the remote side. */
  compressLevel?: number | undefined;
  /** Aborting kills ssh and errors the stream with AbortError. */
  signal?: AbortSignal | undefined;
  /**
   * Resume: the caller already holds the first `bytes` bytes, and `hash` (of the chosen
   * algorithm) has seen them. If the remote file starts with the same bytes, only the rest is
   * sent (`offset` then equals `bytes`); otherwise all of it is. The digest still covers the
   * whole file.
   */
  resumeFrom?: { bytes: number; hash: Hash } | undefined;
}

/** What a verified pull reports. */
export type PullResult = TransferResult;

/**
 * A Readable of the remote file `source` (`[user@]host:path`) through the system ssh. It ends
 * only after the remote count and digest of the bytes it read equal those that arrived;
 * otherwise it errors with a typed error (VerificationError, RemoteIOError, ConnectionError).
 */
export function createPullStream(source: string, options: PullOptions = {}): PullStream {
  const target = parseTarget(source, 'pull');
  const context = { operation: 'pull', target: target.display };
  checkCompressLevel(options.compress, options.compressLevel, context);
  buildSshInvocation(target, options, [], ''); // refuses a bad jump host now, not later
  // A local tool missing is a local problem, found before connecting.
  if (options.compress === 'zstd' && !localCompressions().includes('zstd')) {
    throw new LocalIOError('zstd not found locally: install zstd (it must be on PATH)', context);
  }
  return new PullStream(target, options, context);
}
