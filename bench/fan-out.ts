import { join } from 'node:path';
import { sizeLabel } from './args.js';
import { q, sshFlags, timeoutFor, type BenchContext, type Case } from './context.js';
import { makeRandomFile } from './data.js';
import { rssMethod, type Sample } from './measure.js';
import { remoteOut, sshstream } from './methods.js';
import { formatMiB, formatRange, formatRate, formatRuns, formatSeconds } from './report.js';
import type { SuiteResult } from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

/** Target counts of the fan-out suite (issue 6). */
const TARGET_COUNTS = [1, 4, 16] as const;

/** ssh_config aliases `t1`..`t16` of the one sandbox sshd; run.ts passes them to startSandbox. */
export const FAN_OUT_ALIASES = Array.from(
  { length: Math.max(...TARGET_COUNTS) },
  (_, index) => `t${index + 1}`,
);

// `sshstream push` of `input` to `targets` aliases at once. stdin comes through
// `tee >(wc -c > count)`, so the run records how many bytes the input gave in total.
function fanOutCase(context: BenchContext, input: string, size: number, targets: number): Case {
  const outputs = FAN_OUT_ALIASES.slice(0, targets).map((alias) => ({
    alias,
    path: remoteOut(context, `fanout-${targets}-${alias}`),
  }));
  const rssFile = join(context.work, `rss-fanout-${targets}`);
  const inputCount = join(context.work, `input-count-fanout-${targets}`);
  const list = outputs.map(({ alias, path }) => q(`${alias}:${path}`)).join(' ');
  return {
    label: `sshstream push to ${targets} target${targets === 1 ? '' : 's'}`,
    script:
      `tee >(wc -c > ${q(inputCount)}) < ${q(input)} ` +
      `| ${sshstream(context, rssFile)} push -q ${sshFlags(context)} ${list}`,
    bytes: size,
    outputs: outputs.map(({ path }) => path),
    inputCount,
    rssFile,
    timeoutMs: timeoutFor(context, size * targets),
  };
}

// The input bytes of the successful runs: `33554432 (1.00x size)`, or a range if they differ.
function formatInput(samples: readonly Sample[], size: number): string {
  const counts = samples.flatMap((sample) =>
    sample.ok && sample.inputBytes !== undefined ? [sample.inputBytes] : [],
  );
  if (counts.length === 0) return '-';
  const low = Math.min(...counts);
  const high = Math.max(...counts);
  const bytes = low === high ? `${low}` : `${low}–${high}`;
  return `${bytes} (${(high / size).toFixed(2)}x size)`;
}

/** One input pushed to 1, 4 and 16 targets at once: wall time, peak RSS, input read once. */
export async function runFanOut(context: BenchContext): Promise<SuiteResult> {
  const size = context.options.fanOutSize;
  const file = await makeRandomFile(context.work, size);
  const cases = TARGET_COUNTS.map((targets) => fanOutCase(context, file, size, targets));
  const samples = await runRounds(
    context,
    `fanout ${sizeLabel(size)}`,
    cases,
    context.options.rounds,
  );
  const summaries = samples.map(summarize);
  return {
    suite: 'fanout',
    tables: [
      {
        title: `Fan-out: one push to 1, 4 and 16 targets (${sizeLabel(size)} random data)`,
        columns: [
          'command',
          'targets',
          'size',
          'seconds',
          'range',
          'aggregate MiB/s',
          'peak RSS MiB',
          'input bytes read',
          'ok',
        ],
        textColumns: 1,
        rows: cases.map((test, index) => {
          const summary = summaries[index]!;
          const targets = TARGET_COUNTS[index]!;
          return [
            test.label,
            String(targets),
            sizeLabel(size),
            formatSeconds(summary.median),
            formatRange(summary),
            formatRate(size * targets, summary.median),
            formatMiB(summary.rssKiB),
            formatInput(samples[index]!, size),
            formatRuns(summary),
          ];
        }),
        notes: [
          `- Targets are the ssh_config aliases t1..t${FAN_OUT_ALIASES.length} of the one sandbox ` +
            `sshd: one ssh connection per target, all to this machine. Aggregate MiB/s = size × ` +
            `targets / median seconds. Every run checks that each remote file has the full size; ` +
            `they are deleted between runs.`,
          `- Input read once: stdin is a pipe, \`tee >(wc -c > count) < file | sshstream push ` +
            `t1:... tN:...\`, which cannot be re-read; a run only counts if all N files are complete ` +
            `and the pipe carried exactly the file size (1.00x), not N × size.`,
          rssMethod() === 'gnu-time'
            ? '- Peak RSS: `/usr/bin/time -f %M` around node (the maximum over node and the ssh processes it waits for, not their sum).'
            : '- Peak RSS: a node preload, `process.resourceUsage().maxRSS` at exit (node alone).',
        ],
      },
    ],
    data: cases.map((test, index) => ({
      label: test.label,
      targets: TARGET_COUNTS[index],
      size,
      script: test.script,
      summary: summaries[index],
      samples: samples[index],
    })),
  };
}
