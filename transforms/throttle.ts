import { performance } from 'node:perf_hooks';
import { Transform, type TransformCallback } from 'node:stream';

/** Options for {@link createThrottle}. */
export interface ThrottleOptions {
  /** Most bytes ever sent ahead of the average rate (default: max(16 KiB, rate / 10)). */
  burst?: number;
}

const MIN_BURST = 16 * 1024;
// Pieces of ~1/20 s keep the output smooth at low rates without one timer per tiny slice.
const SLICES_PER_SECOND = 20;

/**
 * A token-bucket Transform that limits throughput to `bytesPerSecond`. The bucket starts empty and
 * holds at most `burst` bytes of credit; chunks are split (without copying) into pieces no larger
 * than that. Waiting uses timers; `destroy()` clears them.
 */
export class ThrottleStream extends Transform {
  /** The configured rate in bytes per second. */
  readonly bytesPerSecond: number;
  /** The bucket capacity in bytes. */
  readonly burst: number;

  #slice: number;
  #tokens = 0;
  #refilledAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending: Buffer | undefined;
  #callback: TransformCallback | undefined;

  constructor(bytesPerSecond: number, options: ThrottleOptions = {}) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new RangeError(`invalid throttle rate ${bytesPerSecond}: expected a positive number`);
    }
    const burst = options.burst ?? Math.max(MIN_BURST, Math.floor(bytesPerSecond / 10));
    if (!Number.isFinite(burst) || burst < 1) {
      throw new RangeError(`invalid throttle burst ${burst}: expected at least 1 byte`);
    }
    super();
    this.bytesPerSecond = bytesPerSecond;
    this.burst = Math.floor(burst);
    this.#slice = Math.max(1, Math.min(this.burst, Math.floor(bytesPerSecond / SLICES_PER_SECOND)));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending = chunk;
    this.#callback = callback;
    this.#send();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
    this.#callback = undefined;
    callback(error);
  }

  // The clock starts at the first chunk, so slow setup (ssh login) does not bank a burst.
  #refill(): void {
    const now = performance.now();
    const earned = ((now - (this.#refilledAt ?? now)) / 1000) * this.bytesPerSecond;
    this.#tokens = Math.min(this.burst, this.#tokens + earned);
    this.#refilledAt = now;
  }

  // Sends as much of the pending chunk as the bucket allows, then sleeps until the next piece fits.
  #send(): void {
    this.#timer = undefined;
    this.#refill();
    let chunk = this.#pending;
    while (chunk !== undefined && chunk.length > 0) {
      const size = Math.min(chunk.length, this.#slice);
      if (this.#tokens < size) {
        this.#pending = chunk;
        const waitMs = ((size - this.#tokens) / this.bytesPerSecond) * 1000;
        this.#timer = setTimeout(() => this.#send(), Math.max(1, Math.ceil(waitMs)));
        return;
      }
      this.#tokens -= size;
      this.push(size === chunk.length ? chunk : chunk.subarray(0, size));
      chunk = size === chunk.length ? undefined : chunk.subarray(size);
    }
    const callback = this.#callback;
    this.#pending = undefined;
    this.#callback = undefined;
    callback?.();
  }
}

/**
 * Creates a Transform limiting throughput to `bytesPerSecond` (token bucket; see
 * {@link ThrottleStream}). Throws a `RangeError` for a non-positive rate or burst.
 */
export const createThrottle = (bytesPerSecond: number, options?: ThrottleOptions): ThrottleStream =>
  new ThrottleStream(bytesPerSecond, options);
