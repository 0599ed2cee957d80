import type { EventEmitter } from 'node:events';
import type { PushStream } from './push.js';

/**
 * Resolves once `stream` emits `'connected'` (ssh has authenticated): until then ssh may be
 * asking on the terminal, and nothing may be drawn over its question. Never rejects.
 */
export function connectedOf(stream: EventEmitter): Promise<void> {
  return new Promise((resolve) => stream.once('connected', () => resolve()));
}

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
