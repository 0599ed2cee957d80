import { sizeLabel } from './args.js';
import type { BenchContext, Case } from './context.js';
import { makeRandomFile, makeTextFile } from './data.js';
import type { Sample } from './measure.js';
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
import { summarize } from './stats.js';

// Per direction: raw ssh, then sshstream uncompressed (the row the others are compared with),
// then gzip (-z) and zstd.
function casesFor(context: BenchContext, file: string, size: number): Case[] {
  const flavours = [
    ['', ''],
    ['-z', ' -z (gzip)'],
    ['--compress zstd', ' --compress zstd'],
  ] as const;
  return [
    rawPushCase(context, file, size, 'compress-raw'),
    ...flavours.map(([flags, name]) =>
      sshstreamCase(context, 'push', flags, `sshstream push${name}`, file, size),
    ),
    rawPullCase(context, file, size, 'compress-raw'),
    ...flavours.map(([flags, name]) =>
      sshstreamCase(context, 'pull', flags, `sshstream pull${name}`, file, size),
    ),
  ].map((test, index) => ({ ...test, label: `${index < 4 ? 'push' : 'pull'}: ${test.label}` }));
}

function rowsOf(kind: string, size: number, cases: Case[], samples: Sample[][]): string[][] {
  const summaries = samples.map(summarize);
  return cases.map((test, index) => {
    const summary = summaries[index]!;
    const plain = summaries[index < 4 ? 1 : 5]?.median;
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

/** Compression on the wire: text (compressible) against random data, gzip and zstd. */
export async function runCompress(context: BenchContext): Promise<SuiteResult> {
  const size = context.options.compressSize;
  const rows: string[][] = [];
  const data: unknown[] = [];
  for (const kind of ['text', 'random'] as const) {
    const file =
      kind === 'text'
        ? await makeTextFile(context.work, size)
        : await makeRandomFile(context.work, size);
    const cases = casesFor(context, file, size);
    const samples = await runRounds(context, `compress ${kind}`, cases, context.options.rounds);
    rows.push(...rowsOf(kind, size, cases, samples));
    data.push({
      kind,
      size,
      methods: cases.map((test, index) => ({
        label: test.label,
        script: test.script,
        summary: summarize(samples[index]!),
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
        ],
      },
    ],
    data,
  };
}
