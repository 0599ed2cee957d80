import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';

/** Hash algorithms sshstream can verify with on both ends; `'none'` only counts bytes. */
export type ChecksumAlgorithm = 'md5' | 'sha1' | 'sha256' | 'none';

/** All accepted {@link ChecksumAlgorithm} values, for argument validation and help text. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['md5', 'sha1', 'sha256', 'none'];

/** What a {@link ChecksumStream} saw: the hex digest (`''` for `'none'`) and the byte count. */
export interface ChecksumResult {
  algorithm: ChecksumAlgorithm;
  digest: string;
  bytes: number;
}

/** Whether `value` is a {@link ChecksumAlgorithm}. */
export const isChecksumAlgorithm = (value: unknown): value is ChecksumAlgorithm =>
  CHECKSUM_ALGORITHMS.includes(value as ChecksumAlgorithm);

/**
 * A pass-through Transform that hashes and counts the bytes flowing through it. Chunks are pushed
 * on unchanged (the same Buffer objects, no copies).
 */
export class ChecksumStream extends Transform {
  /** The algorithm in use. */
  readonly algorithm: ChecksumAlgorithm;
  /** Bytes seen so far (updated as data flows). */
  bytes = 0;
  /** Resolves when the input has ended; rejects if the stream is destroyed before that. */
  readonly result: Promise<ChecksumResult>;

  #hash: Hash | undefined;
  #digest: string | undefined;
  #resolve!: (result: ChecksumResult) => void;
  #reject!: (error: Error) => void;

  constructor(algorithm: ChecksumAlgorithm, options?: TransformOptions) {
    if (!isChecksumAlgorithm(algorithm)) {
      throw new TypeError(
        `unknown checksum algorithm ${JSON.stringify(algorithm)}: expected one of ${CHECKSUM_ALGORITHMS.join(', ')}`,
      );
    }
    super(options);
    this.algorithm = algorithm;
    this.#hash = algorithm === 'none' ? undefined : createHash(algorithm);
    this.result = new Promise<ChecksumResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Callers that only use digest() must not get an unhandled rejection when the stream fails.
    this.result.catch(() => {});
  }

  /** The hex digest (`''` for `'none'`). Throws if the input has not ended yet. */
  digest(): string {
    if (this.#digest === undefined) {
      throw new Error('checksum digest() called before the stream finished');
    }
    return this.#digest;
  }

  /**
   * Continues from `hash`, which has already seen the first `bytes` bytes: the prefix a resumed
   * transfer keeps instead of sending it again. Only before any data has flowed.
   */
  continueFrom(hash: Hash, bytes: number): void {
    if (this.bytes !== 0) throw new Error('checksum continueFrom() called after data');
    if (this.#hash) this.#hash = hash;
    this.bytes = bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash?.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = this.#hash?.digest('hex') ?? '';
    this.#resolve({ algorithm: this.algorithm, digest: this.#digest, bytes: this.bytes });
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#digest === undefined) {
      this.#reject(error ?? new Error('checksum stream destroyed before the input ended'));
    }
    callback(error);
  }
}

/**
 * Creates a pass-through {@link ChecksumStream} for `algorithm`. Throws a `TypeError` for an
 * unknown algorithm.
 */
export const createChecksum = (algorithm: ChecksumAlgorithm): ChecksumStream =>
  new ChecksumStream(algorithm);
