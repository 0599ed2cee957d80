import { ConnectionError, type ErrorContext } from './errors.js';

/** How long a transfer may wait with bytes ready to move and none moving: 60 s. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/** The stall watchdog's option, shared by push and pull. */
export interface StallOptions {
  /**
   * Milliseconds without progress, while data is waiting to move, after which the transfer
   * fails with a ConnectionError (retryable). It also sets ssh's ConnectTimeout and
   * keep-alives (see README). Default 60000; 0 turns the watchdog off.
   */
  stallTimeout?: number | undefined;
}

/** What the watchdog polls: a byte count that grows with progress, and whether data is waiting to move. */
export interface ProgressProbe {
  moved(): number;
  waiting(): boolean;
}

/** A running watchdog; stop() it when the phase it guards is over. */
export interface StallWatch {
  stop(): void;
}

/** The effective stall timeout in ms: the option, else the default; 0 when off. */
export function stallTimeoutOf(options: StallOptions): number {
  const ms = options.stallTimeout ?? DEFAULT_STALL_TIMEOUT_MS;
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

// Polling costs nothing per chunk (the hot path stays untouched); a stall is seen within a
// quarter of the timeout (at most one second) after it is due.
/**
 * Calls `onStall` once when `probe` says data is waiting and its count has not moved for `ms`.
 * Waiting on the input (a slow producer) or on the output (a slow reader) is not a stall.
 */
export function watchStall(ms: number, probe: ProgressProbe, onStall: () => void): StallWatch {
  if (ms <= 0) return { stop: () => {} };
  let last = probe.moved();
  let since = performance.now();
  const timer = setInterval(
    () => {
      const now = performance.now();
      const moved = probe.moved();
      if (moved !== last || !probe.waiting()) {
        last = moved;
        since = now;
      } else if (now - since >= ms) {
        clearInterval(timer);
        onStall();
      }
    },
    Math.min(1000, Math.max(50, ms / 4)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The error of a stalled transfer: exit 2, retryable. */
export function stallError(ms: number, context: ErrorContext): StalledError {
  return new StalledError(
    `stalled: no data moved for ${formatSeconds(ms)} (--stall-timeout)`,
    context,
  );
}

/** A ConnectionError raised by the watchdog (the link went silent; ssh itself did not notice). */
export class StalledError extends ConnectionError {}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
