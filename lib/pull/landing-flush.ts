import type { FileHandle } from 'node:fs/promises';

/** A file flushed to disk at intervals while it lands, until {@link LandingFlush.finish}. */
export interface LandingFlush {
  /**
   * Stops the intervals and flushes once more: resolves once all the file's bytes are on disk,
   * rejects with the first error of any flush (a descriptor opened later is not told of it).
   */
  finish(): Promise<void>;
  /** Stops the intervals (the pull failed); resolves once no flush runs. */
  stop(): Promise<void>;
}

// The remote side of a push writes its file back every second too (watch_upload).
const FLUSH_INTERVAL_MS = 1000;

/**
 * Flushes `file` (fsync) every second while a pull's bytes land in it, so that the commit's
 * fsync has little left to write: 1 GiB pulled in one stream here had 0.7 s of it at the end.
 * Only one flush runs at a time; the intervals keep no process alive.
 */
export function flushWhileLanding(file: FileHandle): LandingFlush {
  let failure: Error | undefined;
  let running: Promise<void> | undefined;
  const flush = (): Promise<void> =>
    (running ??= file
      .sync()
      .catch((error: Error) => {
        failure ??= error;
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void flush(), FLUSH_INTERVAL_MS);
  timer.unref();
  const stop = async () => {
    clearInterval(timer);
    await running;
  };
  return {
    stop,
    async finish() {
      await stop();
      await flush();
      if (failure !== undefined) throw failure;
    },
  };
}
