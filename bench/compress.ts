import { sizeLabel } from './args.js';
import type { BenchContext, Case } from './context.js';
import { makeRandomFile, makeTextFile } from './data.js';
import { rawPullCase, rawPushCase, sshstreamCase } from './methods.js';
import {
  formatBytesMiB,
  formatRate,
  formatRatio,
  formatRuns,
  formatSeconds,
  type SuiteResult,
} from './report.js';
import { runRounds } from './rounds.js';
import { summarize, type Summary } from './stats.js';

// The sshstream flavours, in table order; the first (uncompressed) is what the others are
// compared with. `--compress auto` is new: until the CLI has it, its rows fail (the `ok` column).
const FLAVOURS = [
  { key: 'uncompressed', flags: '', name: '' },
  { key: '-z', flags: '-z', name: ' -z (gzip)' },
  { key: 'zstd', flags: '--compress zstd', name: ' --compress zstd' },
  { key: 'auto', flags: '--compress auto', name: ' --compress auto' },
] as const;
type Method = 'raw' | (typeof FLAVOURS)[number]['key'];

const DIRECTIONS = ['push', 'pull'] as const;
type Direction = (typeof DIRECTIONS)[number];

// Per direction: raw ssh, then every flavour.
const PER_DIRECTION = 1 + FLAVOURS.length;

/** Where a direction's method sits in the case list (and so in the samples). */
const slot = (direction: Direction, method: Method): number =>
  DIRECTIONS.indexOf(direction) * PER_DIRECTION +
  (method === 'raw' ? 0 : 1 + FLAVOURS.findIndex((flavour) => flavour.key === method));

const directionAt = (index: number): Direction => DIRECTIONS[Math.floor(index / PER_DIRECTION)]!;

function casesFor(context: BenchContext, file: string, size: number): Case[] {
  return DIRECTIONS.flatMap((direction) => [
    direction === 'push'
      ? rawPushCase(context, file, size, 'compress-raw')
      : rawPullCase(context, file, size, 'compress-raw'),
    ...FLAVOURS.map(({ flags, name }) =>
      sshstreamCase(context, direction, flags, `sshstream ${direction}${name}`, file, size),
    ),
  ]).map((test, index) => ({ ...test, label: `${directionAt(index)}: ${test.label}` }));
}

function rowsOf(kind: string, size: number, cases: Case[], summaries: Summary[]): string[][] {
  return cases.map((test, index) => {
    const summary = summaries[index]!;
    const plain = summaries[slot(directionAt(index), 'uncompressed')]?.median;
    return [
      `${kind} ${sizeLabel(size)}`,
      test.label,
      formatSeconds(summary.median),
      formatRate(size, summary.median),
      formatRatio(summary.median, plain),
      formatBytesMiB(summary.wireBytes),
      formatRuns(summary),
    ];
  });
}

/** Largest tolerated time of `--compress auto` over uncompressed on random data. */
const AUTO_RANDOM_TARGET = 1.05;
/** Smallest wanted speed-up of compression over raw ssh for text, on a 200 Mbit/s link. */
const TEXT_SPEEDUP_TARGET = 1.5;

// The line under the table for one data kind: auto ÷ uncompressed, and for text the speed-ups
// of each compression over raw ssh (raw seconds ÷ method seconds, so higher is faster).
function targetLine(
  context: BenchContext,
  kind: 'text' | 'random',
  size: number,
  summaries: Summary[],
): string {
  const median = (direction: Direction, method: Method): number | undefined =>
    summaries[slot(direction, method)]?.median;
  // `a ÷ b` of two methods' medians, per direction: "push 0.41x, pull 0.43x".
  const perDirection = (a: Method, b: Method): string =>
    DIRECTIONS.map(
      (direction) => `${direction} ${formatRatio(median(direction, a), median(direction, b))}`,
    ).join(', ');
  const head = `- ${kind} ${sizeLabel(size)}: auto ÷ uncompressed ${perDirection('auto', 'uncompressed')}`;
  if (kind === 'random') {
    const worst = Math.max(
      ...DIRECTIONS.map(
        (direction) =>
          (median(direction, 'auto') ?? NaN) / (median(direction, 'uncompressed') ?? NaN),
      ),
    );
    const verdict = Number.isNaN(worst)
      ? 'no result'
      : worst <= AUTO_RANDOM_TARGET
        ? 'PASS'
        : 'FAIL';
    return `${head} (target ≤ ${AUTO_RANDOM_TARGET.toFixed(2)}x: ${verdict})`;
  }
  const speedUps = (['-z', 'zstd', 'auto'] as const).map(
    (method) => `${method} ${perDirection('raw', method)}`,
  );
  const link = context.options.link
    ? `this run: --link ${context.options.link}`
    : 'this run: unshaped loopback';
  return (
    `${head}; speed-up over raw ssh (raw s ÷ method s; target ≥ ${TEXT_SPEEDUP_TARGET}x ` +
    `on a 200 Mbit/s link; ${link}): ${speedUps.join('; ')}`
  );
}

/** Compression on the wire: text (compressible) against random data, gzip, zstd and auto. */
export async function runCompress(context: BenchContext): Promise<SuiteResult> {
  const size = context.options.compressSize;
  const rows: string[][] = [];
  const data: unknown[] = [];
  const targets: string[] = [];
  for (const kind of ['text', 'random'] as const) {
    const file =
      kind === 'text'
        ? await makeTextFile(context.work, size)
        : await makeRandomFile(context.work, size);
    const cases = casesFor(context, file, size);
    const samples = await runRounds(context, `compress ${kind}`, cases, context.options.rounds);
    const summaries = samples.map(summarize);
    rows.push(...rowsOf(kind, size, cases, summaries));
    targets.push(targetLine(context, kind, size, summaries));
    data.push({
      kind,
      size,
      methods: cases.map((test, index) => ({
        label: test.label,
        script: test.script,
        summary: summaries[index],
        samples: samples[index],
      })),
    });
  }
  return {
    suite: 'compress',
    tables: [
      {
        title: `Compression on the wire (median of ${context.options.rounds})`,
        columns: [
          'data',
          'method',
          'median s',
          'MiB/s',
          '÷ sshstream uncompressed',
          'wire MiB',
          'ok',
        ],
        rows,
        notes: [
          'Text is log-like lines with varying numbers; random is incompressible. ' +
            '"÷ sshstream uncompressed" compares with the plain sshstream row of the same direction.',
          context.netns
            ? '"wire MiB" is what crossed lo in our namespace (both directions, TCP/IP and SSH overhead included).'
            : '"wire MiB" is measured only with --link (in our own namespace, where lo carries only our traffic).',
          '',
          ...targets,
        ],
      },
    ],
    data,
  };
}
