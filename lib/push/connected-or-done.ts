import type { PushStream } from './push-stream.js';

/** Resolves once `stream` has authenticated, or has ended without. */
export function connectedOrDone(stream: PushStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('connected', () => resolve());
    stream.result.then(
      () => resolve(),
      () => resolve(),
    );
  });
}
