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

/**
 * Checks the mode and interval (bad options throw at once, not at the first redraw) and returns
 * the milliseconds between draws: ~10/s on a terminal, `interval` for lines.
 */
export function drawInterval(options: ProgressOptions): number {
  if (options.mode !== 'tty' && options.mode !== 'lines') {
    throw new TypeError(
      `invalid progress mode ${JSON.stringify(options.mode)}: expected tty or lines`,
    );
  }
  const interval = options.interval ?? 1000;
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new RangeError(`invalid progress interval ${interval}: expected a positive number`);
  }
  return options.mode === 'tty' ? TTY_INTERVAL_MS : interval;
}
