const RATE_WINDOW_MS = 3000;
const SAMPLE_GAP_MS = 100;
const MIN_RATE_SPAN_MS = 250;

interface Sample {
  t: number;
  bytes: number;
}

/**
 * A moving-average rate over the last few seconds: samples at most every SAMPLE_GAP_MS, and
 * keeps the newest that is at least a window old, so the average spans the whole window.
 */
export class RateMeter {
  readonly #samples: Sample[];

  constructor(now: number) {
    this.#samples = [{ t: now, bytes: 0 }];
  }

  /** Measures from `now` on, forgetting the samples so far. */
  restart(now: number, bytes: number): void {
    this.#samples.splice(0, this.#samples.length, { t: now, bytes });
  }

  /** Notes that `bytes` had moved by `now`. */
  record(now: number, bytes: number): void {
    const last = this.#samples[this.#samples.length - 1];
    if (last === undefined || now - last.t >= SAMPLE_GAP_MS) {
      this.#samples.push({ t: now, bytes });
    }
    while (this.#samples.length > 2 && now - (this.#samples[1]?.t ?? now) >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
  }

  /** Bytes per second with `bytes` moved by `now`, if measurable yet. */
  rate(now: number, bytes: number): number | undefined {
    const first = this.#samples[0];
    if (first === undefined || now - first.t < MIN_RATE_SPAN_MS) {
      return undefined;
    }
    return ((bytes - first.bytes) * 1000) / (now - first.t);
  }
}
