/**
 * Jobs that several workers take one at a time, in order. `drained` resolves once the last one
 * has been taken: a worker still getting ready then (a connection logging in) has nothing left
 * to do and need not be waited for.
 */
export class WorkQueue<T> {
  private readonly items: T[];
  private resolve: () => void = () => {};
  readonly drained = new Promise<void>((resolve) => (this.resolve = resolve));

  constructor(items: Iterable<T>) {
    this.items = [...items];
    if (this.items.length === 0) this.resolve();
  }

  /** The next job, or undefined when none is left. */
  take(): T | undefined {
    const item = this.items.shift();
    if (this.items.length === 0) this.resolve();
    return item;
  }
}
