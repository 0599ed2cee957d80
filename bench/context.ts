import { sshMallocEnv } from '../lib/ssh/malloc-env.js';
import type { BenchOptions } from './args.js';

/** What every suite needs: where the sandbox is, how to run sshstream, where to put files. */
export interface BenchContext {
  options: BenchOptions;
  /** The ssh_config alias of the sandbox sshd. */
  host: string;
  /** The sandbox's ssh_config, passed as `-F`. */
  config: string;
  /** A directory on the "remote" side (same machine) for pushed files. */
  scratch: string;
  /** Local temp dir: test data, pulled files, RSS records. */
  work: string;
  /** dist/bin/sshstream.js */
  cli: string;
  /** dist/bench/rss-probe.js, the RSS fallback preload. */
  probe: string;
  /** The namespace we run in (`--link`), where `lo` carries only our traffic. */
  netns: string | undefined;
  log(line: string): void;
}

/** One measured command of a suite. */
export interface Case {
  label: string;
  /** bash script; it may use pipes, redirections and process substitution. */
  script: string;
  /** Bytes moved (for MiB/s, and the size `output` must have). */
  bytes: number;
  /** A file that must hold `bytes` bytes after the run; removed before and after each run. */
  output?: string;
  /** More such files (a push to several targets): each must hold `bytes` bytes. */
  outputs?: string[];
  /**
   * A file where the script writes how many bytes it fed to the measured command (e.g.
   * `tee >(wc -c > file) < input | ...`); it must be `bytes`, and goes into the sample.
   */
  inputCount?: string;
  /** The run must print this many md5 digests (stdout + stderr), all equal. */
  hashes?: number;
  /** Where the run records its peak RSS (see measure.nodeWithPeakRss). */
  rssFile?: string;
  /** Overrides the size-based timeout. */
  timeoutMs?: number;
}

/** The ssh options every method gets: the sandbox's ssh_config, and the pinned cipher if any. */
export const sshFlags = (context: BenchContext): string =>
  `-F ${q(context.config)}` +
  (context.options.cipher ? ` -o Ciphers=${q(context.options.cipher)}` : '');

/** Quotes a word for bash (single quotes). */
export const q = (word: string): string =>
  /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;

/** The size-based default timeout of one command: 60 s + 1 s per 4 MiB, or --timeout. */
export const timeoutFor = (context: BenchContext, bytes: number): number =>
  context.options.timeout !== undefined
    ? context.options.timeout * 1000
    : 60_000 + (bytes / (4 << 20)) * 1000;

/**
 * What the bench's sandbox sshd gets added to its environment: with --tuned-sshd, the glibc
 * malloc settings sshstream gives its own ssh (see lib/ssh/malloc-env.ts and bench/README.md).
 */
export const sandboxServerEnv = (options: BenchOptions): Record<string, string> =>
  options.tunedSshd ? sshMallocEnv({}) : {};
