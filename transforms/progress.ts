import { Transform, type TransformCallback } from 'node:stream';
import { formatBytes, formatDuration, formatRate } from './format.js';

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  /** Where to render, normally `process.stderr`; never stdout, which may carry the data. */
  output: NodeJS.WritableStream;
  /** What is being transferred, e.g. `'push sandbox:/tmp/x'`. */
  label: string;
  /** Expected size in bytes; enables percent, bar and ETA. */
  total?: number;
  /** `'tty'` redraws one line in place (~10/s); `'lines'` prints a plain line every `interval`. */
  mode: 'tty' | 'lines';
  /** Milliseconds between lines in `'lines'` mode (default 1000). */
  interval?: number;
  /** Clock in milliseconds, injectable for tests (default `Date.now`). */
  now?: () => number;
  /**
   * Draw nothing until this settles (bytes are still counted). ssh asks for passwords and
   * host-key confirmation on the terminal until it has authenticated: nothing may draw over that.
   */
  after?: Promise<unknown> | undefined;
}

const TTY_INTERVAL_MS = 100;
const RATE_WINDOW_MS = 3000;
const SAMPLE_GAP_MS = 100;
const MIN_RATE_SPAN_MS = 250;
const MIN_BAR_WIDTH = 10;
const PREFERRED_BAR_WIDTH = 20;
const MAX_BAR_WIDTH = 40;
const MIN_LABEL = 16;
const ERASE_LINE = '\x1b[K';

interface Sample {
  t: number;
  bytes: number;
}

// Remote paths may hold newlines or escape sequences; they must not move the cursor.
const escapeControls = (text: string): string =>
  text.replace(
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );

const fitLabel = (label: string, room: number): string => {
  if (label.length <= room) {
    return label;
  }
  if (room < 5) {
    return label.slice(0, Math.max(0, room));
  }
  // The file name at the end usually tells transfers apart better than the host at the start.
  const head = Math.floor((room - 1) * 0.4);
  return `${label.slice(0, head)}…${label.slice(label.length - (room - 1 - head))}`;
};

const renderBar = (fraction: number, width: number): string => {
  const inner = width - 2;
  const filled = Math.min(inner, Math.floor(fraction * inner));
  const head = filled < inner ? '>' : '';
  return `[${'='.repeat(filled)}${head}${' '.repeat(Math.max(0, inner - filled - head.length))}]`;
};

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
  readonly #samples: Sample[];
  #phase: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastDrawAt: number;
  #lastText = '';
  #drawn = false;
  #stopped = false;
  #held: boolean;

  constructor(options: ProgressOptions) {
    super();
    if (options.mode !== 'tty' && options.mode !== 'lines') {
      throw new TypeError(
        `invalid progress mode ${JSON.stringify(options.mode)}: expected tty or lines`,
      );
    }
    const interval = options.interval ?? 1000;
    if (!Number.isFinite(interval) || interval <= 0) {
      throw new RangeError(`invalid progress interval ${interval}: expected a positive number`);
    }
    this.#output = options.output;
    this.#label = escapeControls(options.label);
    this.#mode = options.mode;
    this.#interval = options.mode === 'tty' ? TTY_INTERVAL_MS : interval;
    this.#now = options.now ?? Date.now;
    const start = this.#now();
    this.#samples = [{ t: start, bytes: 0 }];
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
    this.#samples.splice(0, this.#samples.length, { t: this.#now(), bytes: this.bytes });
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
    const now = this.#now();
    const first = this.#samples[0];
    if (first === undefined || now - first.t < MIN_RATE_SPAN_MS) {
      return undefined;
    }
    return ((this.bytes - first.bytes) * 1000) / (now - first.t);
  }

  /** The progress line as it would be drawn now, fitted to `width` columns. */
  line(width = this.#columns()): string {
    const total = this.total;
    const known = total !== undefined;
    const fraction = !known ? 0 : total === 0 ? 1 : Math.min(1, this.bytes / total);
    const amount = known
      ? `${formatBytes(this.bytes)} / ${formatBytes(total)}`
      : formatBytes(this.bytes);
    const percent = known ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : undefined;
    const statusParts = this.#phase === undefined ? this.#rateAndEta() : [this.#phase];
    if (this.#mode === 'lines') {
      const details = [percent?.trim(), ...statusParts].filter((part) => part);
      return `${this.#label}: ${amount}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
    }
    const status = statusParts.join('  ');
    // The last column is left empty: writing into it makes some terminals wrap early.
    const room = Math.max(1, width - 1);
    const tail = [amount, percent, status].filter((part) => part).join('  ');
    const available = room - tail.length - 2;
    // The bar takes the space the label leaves, up to MAX_BAR_WIDTH; a long label is shortened
    // (down to MIN_LABEL) so that the bar still gets PREFERRED_BAR_WIDTH, or MIN_BAR_WIDTH at least.
    const leftByLabel = Math.min(MAX_BAR_WIDTH, available - this.#label.length - 2);
    const leftByShortLabel = available - Math.min(this.#label.length, MIN_LABEL) - 2;
    const wanted = Math.max(leftByLabel, Math.min(PREFERRED_BAR_WIDTH, leftByShortLabel));
    const barWidth = known && wanted >= MIN_BAR_WIDTH ? wanted : 0;
    const label = fitLabel(this.#label, Math.max(0, available - (barWidth > 0 ? barWidth + 2 : 0)));
    const bar = barWidth > 0 ? renderBar(fraction, barWidth) : '';
    return [label, amount, percent, bar, status]
      .filter((part) => part)
      .join('  ')
      .slice(0, room);
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

  #rateAndEta(): string[] {
    const rate = this.rate();
    if (rate === undefined) {
      return [];
    }
    const remaining = (this.total ?? 0) - this.bytes;
    const eta = this.total !== undefined && remaining > 0 && rate > 0;
    return eta ? [formatRate(rate), `ETA ${formatDuration(remaining / rate)}`] : [formatRate(rate)];
  }

  #columns(): number {
    const columns = (this.#output as { columns?: unknown }).columns;
    return typeof columns === 'number' && columns > 0 ? columns : 80;
  }

  #recordSample(now: number): void {
    const last = this.#samples[this.#samples.length - 1];
    if (last === undefined || now - last.t >= SAMPLE_GAP_MS) {
      this.#samples.push({ t: now, bytes: this.bytes });
    }
    // Keep the newest sample that is at least a window old, so the average spans the whole window.
    while (this.#samples.length > 2 && now - (this.#samples[1]?.t ?? now) >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
  }

  #draw(force: boolean): void {
    if (this.#stopped || this.#held) {
      return;
    }
    const now = this.#now();
    this.#recordSample(now);
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
