import type { PushStream } from './push-stream.js';
import { connectedOrDone } from './connected-or-done.js';

/**
 * Starts one target after another, each once the one before has authenticated or failed: ssh
 * may be asking on the terminal, and N questions at once cannot be answered. An abort of
 * `signal` stops the targets (through `stop`) and ends the wait at once.
 */
export async function connectInTurn(
  targets: readonly string[],
  signal: AbortSignal | undefined,
  stop: AbortController,
  start: (target: string) => PushStream,
): Promise<void> {
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const target of targets) {
      if (stop.signal.aborted) break;
      await connectedOrDone(start(target));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
