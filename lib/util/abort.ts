import type { Stream } from 'node:stream';
import { AbortError, type ErrorContext } from './errors.js';

const REASONS: Record<string, string> = { SIGTERM: 'terminated', SIGHUP: 'hangup' };

/**
 * The AbortError for a signal; `signal.reason` 'SIGTERM' maps to exit 143, 'SIGHUP' to 129,
 * anything else to 130.
 */
export function abortErrorFor(signal: AbortSignal, context: ErrorContext): AbortError {
  const reason: unknown = signal.reason;
  const name = reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT';
  return new AbortError(REASONS[name] ?? 'interrupted', context, name);
}

/** Destroys `stream` with an AbortError when `signal` aborts (at once if it already has). */
export function destroyOnAbort(
  stream: Stream & { destroy(error?: Error): unknown },
  signal: AbortSignal | undefined,
  context: ErrorContext,
): void {
  if (!signal) return;
  const onAbort = () => stream.destroy(abortErrorFor(signal, context));
  if (signal.aborted) queueMicrotask(onAbort);
  else signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
}
