import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError } from './errors.js';

/** How often to try again, and who hears about it. */
export interface RetryOptions {
  /**
   * Retry this many times when the connection fails or drops, continuing from what already
   * arrived. Failures that retrying cannot fix (authentication, permission, disk full, a
   * mismatch) are not retried.
   */
  retries?: number | undefined;
  /** Called before each retry with the attempt number (2, 3, ...), the error and the delay in ms. */
  onRetry?: ((attempt: number, error: Error, delayMs: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** Runs `attempt` until it succeeds, it fails for good, or the retries are used up. Backoff 0.5 s, 1 s, 2 s ... 30 s. */
export async function withRetries<T>(
  { retries = 0, onRetry, signal }: RetryOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let count = 1; ; count++) {
    try {
      return await attempt();
    } catch (error) {
      if (count > retries || !isRetryable(error) || signal?.aborted) throw error;
      const delayMs = Math.min(30_000, 500 * 2 ** (count - 1));
      onRetry?.(count + 1, error as Error, delayMs);
      await sleep(delayMs, undefined, signal ? { signal } : {}).catch(() => {
        throw error;
      });
    }
  }
}

// Only a failed or lost connection is worth another try, and not when ssh itself said that
// authentication, the host key or the host name failed.
function isRetryable(error: unknown): boolean {
  return error instanceof ConnectionError && error.retryable;
}
