import type { Sample } from './measure.js';

/** The median, spread and failures of a method's samples. */
export interface Summary {
  /** Median seconds of the successful runs; undefined when none succeeded. */
  median: number | undefined;
  min: number | undefined;
  max: number | undefined;
  ok: number;
  runs: number;
  /** Largest peak RSS seen, KiB. */
  rssKiB: number | undefined;
  /** Median bytes on the wire. */
  wireBytes: number | undefined;
  /** The first failure's reason. */
  error: string | undefined;
}

/** The median of `values` (mean of the middle two for an even count); undefined when empty. */
function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Summarises the samples of one method; only successful runs count towards the times. */
export function summarize(samples: readonly Sample[]): Summary {
  const good = samples.filter((sample) => sample.ok);
  const seconds = good.map((sample) => sample.seconds);
  const rss = good.flatMap((sample) => (sample.rssKiB === undefined ? [] : [sample.rssKiB]));
  const wire = good.flatMap((sample) => (sample.wireBytes === undefined ? [] : [sample.wireBytes]));
  return {
    median: median(seconds),
    min: seconds.length ? Math.min(...seconds) : undefined,
    max: seconds.length ? Math.max(...seconds) : undefined,
    ok: good.length,
    runs: samples.length,
    rssKiB: rss.length ? Math.max(...rss) : undefined,
    wireBytes: median(wire),
    error: samples.find((sample) => !sample.ok)?.error,
  };
}
