import { open, type FileHandle } from 'node:fs/promises';

/** A file flushed to disk at intervals while it lands, until {@link LandingFlush.finish}. */
export interface LandingFlush {
  /**
   * Stops the intervals and, where a flush ran before or the caller gave the descriptor, flushes
   * once more; rejects with the first error of any flush (a descriptor opened later is not told
   * of it).
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
 * `file` is a descriptor of the caller's, or a path, opened at the first flush and closed at
 * the end (a pull over within the second opens nothing). Only one flush runs at a time; the
 * intervals keep no process alive.
 */
export function flushWhileLanding(file: FileHandle | string): LandingFlush {
  let failure: Error | undefined;
  let handle = typeof file === 'string' ? undefined : Promise.resolve<FileHandle | undefined>(file);
  let running: Promise<void> | undefined;
  const flush = (): Promise<void> =>
    (running ??= (async () => {
      // Not there (yet, or any more): the writer reports its own failure.
      handle ??= open(file as string, 'r').catch(() => undefined);
      await (await handle)?.sync().catch((error: Error) => {
        failure ??= error;
      });
    })().finally(() => (running = undefined)));
  const timer = setInterval(() => void flush(), FLUSH_INTERVAL_MS);
  timer.unref();
  // No further flush starts; the one running (if any) ends.
  const halt = async () => {
    clearInterval(timer);
    await running;
  };
  const closeOwn = async () => {
    if (typeof file === 'string') await (await handle)?.close();
  };
  return {
    async stop() {
      await halt();
      await closeOwn();
    },
    async finish() {
      await halt();
      try {
        if (handle) await flush();
      } finally {
        await closeOwn();
      }
      if (failure !== undefined) throw failure;
    },
  };
}
