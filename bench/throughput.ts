import { sizeLabel } from './args.js';
import type { BenchContext, Case } from './context.js';
import { makeRandomFile } from './data.js';
import type { Sample } from './measure.js';
import { BASELINES, pullCases, pushCases, RSYNC_MD5_LABEL, rsyncHasMd5Choice } from './methods.js';
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

// Rows of one size; the ratios are against raw ssh and the verified shell pipeline, found by label.
function rowsOf(
  direction: 'push' | 'pull',
  size: number,
  cases: readonly Case[],
  samples: Sample[][],
): string[][] {
  const summaries = samples.map(summarize);
  const medianOf = (label: string): number | undefined =>
    summaries[cases.findIndex((test) => test.label === label)]?.median;
  const raw = medianOf(BASELINES[direction].raw);
  const verified = medianOf(BASELINES[direction].verified);
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
    rows.push(...rowsOf(direction, size, cases, samples));
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
      ...(direction === 'push'
        ? [
            'rsync 3.2+ negotiates xxh128 as its whole-file checksum, far cheaper than md5, so ' +
              '"rsync -W -I" hashes less than the others; ' +
              (rsyncHasMd5Choice()
                ? `"${RSYNC_MD5_LABEL}" is the like-for-like peer of sshstream and the verified shell.`
                : 'this rsync has no --checksum-choice (it predates xxh128), so there is no md5 row.'),
          ]
        : []),
    ],
  };
  return { suite: direction, tables: [table], data };
}
