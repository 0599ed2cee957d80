import { watchStall, type ProgressProbe, type StallWatch } from '../util/stall-watchdog.js';

/**
 * Watches what a delivery runs: a session failing before the input ends fails the push at once,
 * and data ready to go with none moving for the stall timeout fails it too (retryable). After
 * the last byte left, ssh's keep-alives watch the link (see keepAliveOptions).
 */
export class DeliveryWatch {
  private progress: ProgressProbe | undefined;
  private stall: StallWatch | undefined;

  constructor(
    private readonly stallMs: number,
    /** Called with why the delivery failed, or with undefined once it stalled. */
    private readonly failed: (error: Error | undefined) => void,
  ) {}

  /** Starts watching: `done` rejects if the delivery's sessions fail; `progress` tells motion. */
  watch(done: Promise<void>, progress: ProgressProbe): void {
    this.progress = progress;
    done.catch((error: Error) => this.failed(error));
    this.stall = watchStall(this.stallMs, progress, () => this.failed(undefined));
  }

  /** Bytes the remote side has taken so far, where the delivery tells; undefined before. */
  get moved(): number | undefined {
    return this.progress?.moved();
  }

  /** The phase it guards is over (every byte landed, or the push ended). */
  stop(): void {
    this.stall?.stop();
  }
}
