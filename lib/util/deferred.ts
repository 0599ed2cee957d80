/** A promise and the functions that settle it, for a result that a stream settles later. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * A {@link Deferred} (Node 20 has no `Promise.withResolvers`). Its rejection counts as handled:
 * callers that only watch the stream's own error must not get an unhandled rejection.
 */
export function createDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}
