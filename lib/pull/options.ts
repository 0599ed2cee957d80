import type { Hash } from 'node:crypto';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { CompressionChoice } from '../../transforms/compress.js';
import type { SshOptions } from '../ssh/command.js';
import type { TransferResult } from '../util/result.js';
import type { StallOptions } from '../util/stall-watchdog.js';
import type { Streams } from '../util/streams.js';

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
  /**
   * SSH channels that carry a regular file in parallel ranges; 1 turns it off. Default 'auto':
   * chosen from the round-trip time and the size (see chooseStreams). Only `pull()` into a local
   * path uses ranges, and not with `compress`, `limitRate`, or 'auto' with an `sshCommand`.
   */
  streams?: Streams | undefined;
  /**
   * Keeps every stream of a transfer in ranges on the one connection. By default each further
   * stream opens a connection of its own where that logs in without asking (a key or an
   * agent: never a second prompt), since on a long link one TCP connection's window caps it
   * however many channels ride it.
   */
  singleConnection?: boolean | undefined;
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
