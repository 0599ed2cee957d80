import { Transform, type TransformCallback } from 'node:stream';
import { escapeControls, progressLine } from './progress-line.js';
import { drawInterval, type ProgressOptions } from './progress-options.js';
import { RateMeter } from './progress-rate.js';

export type { ProgressOptions };

const ERASE_LINE = '\x1b[K';

/**
 * A pass-through Transform that counts bytes and renders progress to `options.output`: label,
 * bytes, percent/bar/ETA when the total is known, and a moving-average rate. Timers are unref'd and
 * stop at end or destroy; `setPhase()` can still redraw afterwards, until `done()`.
 */
export class ProgressStream extends Transform {
  /** Bytes seen so far. */
  bytes = 0;
  /** Expected size, if known. */
  total: number | undefined;

  readonly #output: NodeJS.WritableStream;
  readonly #label: string;
  readonly #mode: 'tty' | 'lines';
  readonly #interval: number;
  readonly #now: () => number;
  readonly #rate: RateMeter;
  #phase: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastDrawAt: number;
  #lastText = '';
  #drawn = false;
  #stopped = false;
  #held: boolean;

  constructor(options: ProgressOptions) {
    super();
    const interval = drawInterval(options);
    this.#output = options.output;
    this.#label = escapeControls(options.label);
    this.#mode = options.mode;
    this.#interval = interval;
    this.#now = options.now ?? Date.now;
    const start = this.#now();
    this.#rate = new RateMeter(start);
    this.#lastDrawAt = options.mode === 'tty' ? -Infinity : start;
    if (options.total !== undefined) {
      this.setTotal(options.total);
    }
    this.#held = options.after !== undefined;
    const release = () => this.#release();
    options.after?.then(release, release);
  }

  // Drawing starts; the rate is measured from now, not over the time spent authenticating.
  #release(): void {
    this.#held = false;
    this.#rate.restart(this.#now(), this.bytes);
    if (this.bytes > 0 && !this.writableFinished) this.#startTimer();
    this.#draw(this.writableFinished || this.#phase !== undefined);
  }

  /** Sets the expected size in bytes (enables percent, bar and ETA). */
  setTotal(total: number): void {
    if (!Number.isFinite(total) || total < 0) {
      throw new RangeError(`invalid progress total ${total}: expected a non-negative number`);
    }
    this.total = total;
  }

  /** Shows `text` (e.g. `'verifying md5…'`) instead of rate and ETA, redrawing now; `undefined` clears it. */
  setPhase(text: string | undefined): void {
    this.#phase = text === undefined ? undefined : escapeControls(text);
    this.#draw(true);
  }

  /**
   * Counts bytes that moved without passing through this stream (ssh reading a file itself):
   * `bytes` is the position reached so far.
   */
  advanceTo(bytes: number): void {
    if (bytes <= this.bytes) return;
    this.bytes = bytes;
    this.#startTimer();
    this.#draw(false);
  }

  /** Stops all rendering; in tty mode also erases the line so a summary can be printed after it. */
  done(): void {
    this.#stopTimer();
    this.#stopped = true;
    this.#clearLine();
  }

  /** Moving-average rate in bytes per second over the last few seconds, if measurable yet. */
  rate(): number | undefined {
    return this.#rate.rate(this.#now(), this.bytes);
  }

  /** The progress line as it would be drawn now, fitted to `width` columns. */
  line(width = this.#columns()): string {
    return progressLine(
      {
        label: this.#label,
        bytes: this.bytes,
        total: this.total,
        phase: this.#phase,
        // The clock is read only where the line shows the rate (a test's clock may count calls).
        rate: this.#phase === undefined ? this.rate() : undefined,
        mode: this.#mode,
      },
      width,
    );
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.#startTimer();
    this.#draw(false);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#stopTimer();
    this.#draw(true);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopTimer();
    if (error) {
      this.#clearLine();
    }
    callback(error);
  }

  #columns(): number {
    const columns = (this.#output as { columns?: unknown }).columns;
    return typeof columns === 'number' && columns > 0 ? columns : 80;
  }

  #draw(force: boolean): void {
    if (this.#stopped || this.#held) {
      return;
    }
    const now = this.#now();
    this.#rate.record(now, this.bytes);
    if (!force && now - this.#lastDrawAt < this.#interval) {
      return;
    }
    const text = this.line();
    this.#lastDrawAt = now;
    if (this.#mode === 'lines') {
      // The final line (forced at the end) repeats nothing the last interval already said.
      if (force && text === this.#lastText) return;
      this.#output.write(`${text}\n`);
      this.#lastText = text;
      return;
    }
    if (text !== this.#lastText || !this.#drawn) {
      this.#output.write(`\r${text}${ERASE_LINE}`);
      this.#lastText = text;
      this.#drawn = true;
    }
  }

  #clearLine(): void {
    if (this.#mode === 'tty' && this.#drawn) {
      this.#output.write(`\r${ERASE_LINE}`);
      this.#drawn = false;
      this.#lastText = '';
    }
  }

  #startTimer(): void {
    if (this.#timer === undefined && !this.#stopped && !this.#held && !this.writableFinished) {
      this.#timer = setInterval(() => this.#draw(false), this.#interval);
      this.#timer.unref();
    }
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Creates a {@link ProgressStream} rendering to `options.output`. */
export const createProgress = (options: ProgressOptions): ProgressStream =>
  new ProgressStream(options);
