import { sizeLabel } from './args.js';
import type { BenchContext, Case } from './context.js';
import { makeRandomFile } from './data.js';
import type { Sample } from './measure.js';
import { pullCases, pushCases } from './methods.js';
import {
  formatMiB,
  formatRange,
  formatRate,
  formatRatio,
  formatRuns,
  formatSeconds,
  type SuiteResult,
  type Table,
} from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

const COLUMNS = [
  'size',
  'method',
  'median s',
  'MiB/s',
  '÷ verified shell',
  '÷ raw ssh',
  'peak RSS MiB',
  'ok',
  'min–max s',
];

// Rows of one size; the first case is raw ssh and the second the verified shell pipeline.
function rowsOf(size: number, cases: readonly Case[], samples: Sample[][]): string[][] {
  const summaries = samples.map(summarize);
  const raw = summaries[0]?.median;
  const verified = summaries[1]?.median;
  return cases.map((test, index) => {
    const summary = summaries[index]!;
    return [
      sizeLabel(size),
      test.label,
      formatSeconds(summary.median),
      formatRate(size, summary.median),
      formatRatio(summary.median, verified),
      formatRatio(summary.median, raw),
      test.rssFile ? formatMiB(summary.rssKiB) : '-',
      formatRuns(summary),
      formatRange(summary),
    ];
  });
}

/** Push or pull throughput: every method at every size, interleaved rounds, random data. */
export async function runThroughput(
  context: BenchContext,
  direction: 'push' | 'pull',
): Promise<SuiteResult> {
  const rows: string[][] = [];
  const data: unknown[] = [];
  for (const size of context.options.sizes) {
    const file = await makeRandomFile(context.work, size);
    const cases =
      direction === 'push' ? pushCases(context, file, size) : pullCases(context, file, size);
    const samples = await runRounds(
      context,
      `${direction} ${sizeLabel(size)}`,
      cases,
      context.options.rounds,
    );
    rows.push(...rowsOf(size, cases, samples));
    data.push({
      size,
      methods: cases.map((test, index) => ({
        label: test.label,
        script: test.script,
        summary: summarize(samples[index]!),
        samples: samples[index],
      })),
    });
  }
  const table: Table = {
    title: `${direction === 'push' ? 'Push' : 'Pull'} throughput (random data, median of ${context.options.rounds})`,
    columns: COLUMNS,
    rows,
    notes: [
      '"÷ verified shell" and "÷ raw ssh" are time ratios (median ÷ that baseline\'s median): ' +
        '1.20x means 20% slower. Peak RSS is that of the sshstream node process.',
    ],
  };
  return { suite: direction, tables: [table], data };
}
