import type { Stream } from 'node:stream';
import { AbortError, type ErrorContext } from './errors.js';

/** The AbortError for a signal; `signal.reason === 'SIGTERM'` maps to exit 143, anything else to 130. */
export function abortErrorFor(signal: AbortSignal, context: ErrorContext): AbortError {
  const terminated = signal.reason === 'SIGTERM';
  return new AbortError(
    terminated ? 'terminated' : 'interrupted',
    context,
    terminated ? 'SIGTERM' : 'SIGINT',
  );
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
