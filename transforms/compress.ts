import type { Duplex } from 'node:stream';
import { createGunzip, createGzip, deflateRawSync } from 'node:zlib';
import { execa } from 'execa';
import { findExecutable } from './which.js';

/** Compression formats sshstream can put on the wire. */
export type Compression = 'gzip' | 'zstd';

/** All accepted {@link Compression} values, for argument validation and help text. */
export const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd'];

/**
 * Default level per format, chosen for the wire: gzip 1 (gzip's own default 6 compresses at
 * about a third of the speed, slower than most links, for a few percent), zstd's own 3.
 */
export const DEFAULT_COMPRESSION_LEVEL: Readonly<Record<Compression, number>> = {
  gzip: 1,
  zstd: 3,
};

/** The levels each format accepts, inclusive. */
export const LEVEL_RANGE: Readonly<Record<Compression, readonly [number, number]>> = {
  gzip: [1, 9],
  zstd: [1, 19],
};

/** Thrown when a local program a transform needs (such as `zstd`) is not on `PATH`. */
export class MissingCommandError extends Error {
  readonly code = 'ENOENT' as const;
  /** The program that was looked for. */
  readonly command: string;

  constructor(command: string) {
    super(`${command} not found locally: install ${command} (it must be on PATH)`);
    this.name = 'MissingCommandError';
    this.command = command;
  }
}

/** What the compress option accepts: a format, or `'auto'` (see {@link chooseCompression}). */
export type CompressionChoice = Compression | 'auto';

/** All accepted {@link CompressionChoice} values. */
export const COMPRESSION_CHOICES: readonly CompressionChoice[] = [...COMPRESSIONS, 'auto'];

/** How much of the input `'auto'` looks at before it decides. */
export const AUTO_SAMPLE_BYTES = 64 * 1024;

/**
 * `'auto'`: compress only when the first {@link AUTO_SAMPLE_BYTES} of the input shrink below 90%
 * under deflate level 1 (random, encrypted or already compressed data does not, and compressing
 * it only costs time); then zstd when both ends have it (faster than gzip at a better ratio),
 * else gzip. `available` lists the formats both ends can handle.
 */
export function chooseCompression(
  sample: Uint8Array,
  available: readonly Compression[],
): Compression | undefined {
  const part = sample.subarray(0, AUTO_SAMPLE_BYTES);
  if (part.length === 0 || deflateRawSync(part, { level: 1 }).length >= part.length * 0.9) {
    return undefined;
  }
  return (['zstd', 'gzip'] as const).find((kind) => available.includes(kind));
}

/** Formats this machine can handle: gzip always (node:zlib), zstd when its CLI is on PATH. */
export const localCompressions = (): Compression[] =>
  findExecutable('zstd') === undefined ? ['gzip'] : ['zstd', 'gzip'];

/** Whether `value` is a {@link Compression}. */
export const isCompression = (value: unknown): value is Compression =>
  COMPRESSIONS.includes(value as Compression);

const checkKind = (kind: Compression): void => {
  if (!isCompression(kind)) {
    throw new TypeError(
      `unknown compression ${JSON.stringify(kind)}: expected one of ${COMPRESSIONS.join(', ')}`,
    );
  }
};

const checkLevel = (kind: Compression, level: number): void => {
  const [min, max] = LEVEL_RANGE[kind];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new RangeError(
      `invalid ${kind} level ${level}: expected an integer from ${min} to ${max}`,
    );
  }
};

// Node 20's zlib has no zstd, so the local zstd CLI does the work, wrapped as a Duplex by execa.
const spawnZstd = (args: readonly string[]): Duplex => {
  const zstd = findExecutable('zstd');
  if (zstd === undefined) {
    throw new MissingCommandError('zstd');
  }
  // stdout must not also be buffered in memory by execa: it flows through the Duplex instead.
  const subprocess = execa(zstd, ['-q', ...args], {
    buffer: { stdout: false, stderr: true },
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  return subprocess.duplex();
};

/**
 * Creates a compressing Duplex. gzip uses node:zlib (level 1..9, default 6); zstd runs the local
 * `zstd` CLI (level 1..19, default 3) and throws a {@link MissingCommandError} when it is missing.
 * Throws a `TypeError` / `RangeError` for an unknown kind or a bad level.
 */
export const createCompressor = (kind: Compression, level?: number): Duplex => {
  checkKind(kind);
  const chosen = level ?? DEFAULT_COMPRESSION_LEVEL[kind];
  checkLevel(kind, chosen);
  if (kind === 'gzip') {
    return createGzip({ level: chosen });
  }
  return spawnZstd(['-c', `-${chosen}`]);
};

/**
 * Creates a decompressing Duplex for `kind`; corrupt or truncated input makes it error. zstd throws
 * a {@link MissingCommandError} when the local `zstd` CLI is missing.
 */
export const createDecompressor = (kind: Compression): Duplex => {
  checkKind(kind);
  if (kind === 'gzip') {
    return createGunzip();
  }
  return spawnZstd(['-d', '-c']);
};
