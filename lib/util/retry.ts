import { setTimeout as sleep } from 'node:timers/promises';
import { abortErrorFor } from './abort.js';
import { ConnectionError, SshStreamError } from './errors.js';

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
      if (signal?.aborted) throw abortedAfter(signal, error);
      if (count > retries || !isRetryable(error)) throw error;
      const delayMs = Math.min(30_000, 500 * 2 ** (count - 1));
      onRetry?.(count + 1, error as Error, delayMs);
      await sleep(delayMs, undefined, signal ? { signal } : {}).catch(() => {
        throw signal?.aborted ? abortedAfter(signal, error) : error;
      });
    }
  }
}

// Only a failed or lost connection is worth another try, and not when ssh itself said that
// authentication, the host key or the host name failed.
function isRetryable(error: unknown): boolean {
  return error instanceof ConnectionError && error.retryable;
}

// An abort during a retry's wait (or one that a failed attempt reported differently) ends the
// run as aborted: the user asked to stop, and the failure before is only the cause.
function abortedAfter(signal: AbortSignal, error: unknown): SshStreamError {
  if (error instanceof SshStreamError && error.code === 'ABORT_ERR') return error;
  const { operation, target } = error instanceof SshStreamError ? error : {};
  return abortErrorFor(signal, { operation, target, cause: error });
}
