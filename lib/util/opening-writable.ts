import { Writable, type WritableOptions } from 'node:stream';

/**
 * A Writable that opens asynchronously (in _construct) and that a destroy can cut short while
 * it opens. Node holds a destroy back until _construct has called back, and opening can last
 * minutes (an ssh login: a silent server, a prompt nobody answers): `open` gets a signal that
 * aborts at once, so the destroy goes through.
 */
export abstract class OpeningWritable extends Writable {
  private readonly opening = new AbortController();
  private opened = false;

  constructor(options?: WritableOptions) {
    super(options);
  }

  /** Opens the stream; should end soon after `signal` aborts. */
  protected abstract open(signal: AbortSignal): Promise<void>;

  override _construct(callback: (error?: Error | null) => void): void {
    this.open(this.opening.signal).then(
      () => {
        this.opened = true;
        callback();
      },
      // Destroyed meanwhile: the destroy's error is the one to report, not how opening ended.
      (error: Error) => {
        this.opened = true;
        callback(this.destroyed ? null : error);
      },
    );
  }

  override destroy(error?: Error): this {
    if (!this.opened) this.opening.abort(error);
    return super.destroy(error);
  }
}
