import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { rawPullCase, rawPushCase, sshCommandCase, sshstreamCase } from './methods.js';
import { formatMs, formatRuns, type SuiteResult } from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

const SMALL = 1024;
const TIMEOUT_MS = 30_000;

/** Small-transfer latency: 1 KiB pushes and pulls, sshstream against plain ssh, N times each. */
export async function runLatency(context: BenchContext): Promise<SuiteResult> {
  const file = join(context.work, 'small-1K');
  await writeFile(file, Buffer.alloc(SMALL, 'x'));
  const cases: Case[] = [
    { ...rawPushCase(context, file, SMALL, 'small-raw'), label: "push: ssh h 'cat > f'" },
    { ...sshstreamCase(context, 'push', '', '', file, SMALL), label: 'push: sshstream push' },
    { ...rawPullCase(context, file, SMALL, 'small-raw'), label: 'pull: ssh h cat f > out' },
    { ...sshstreamCase(context, 'pull', '', '', file, SMALL), label: 'pull: sshstream pull' },
    sshCommandCase(context, 'ssh h true (connect + auth + exit)', 'true'),
    {
      // sshstream reads the effective config once per transfer (ciphers, keep-alives, master).
      label: 'ssh -G h (config lookup, once per sshstream transfer)',
      script: `ssh ${sshFlags(context)} -G ${context.host} > /dev/null`,
      bytes: 0,
    },
    {
      label: 'node sshstream.js --version (node start-up)',
      script: `node ${q(context.cli)} --version > /dev/null`,
      bytes: 0,
    },
    { label: 'node -e 0 (bare node start-up)', script: 'node -e 0', bytes: 0 },
  ].map((test) => ({ ...test, timeoutMs: TIMEOUT_MS }));
  const samples = await runRounds(context, 'latency', cases, context.options.latencyRuns);
  const summaries = samples.map(summarize);
  const difference = (a: number, b: number): string => {
    const [x, y] = [summaries[a]?.median, summaries[b]?.median];
    return x === undefined || y === undefined ? 'n/a' : `${((x - y) * 1000).toFixed(1)} ms`;
  };
  return {
    suite: 'latency',
    tables: [
      {
        title: `Small-transfer latency (1 KiB, ${context.options.latencyRuns} runs each, interleaved)`,
        columns: ['command', 'median ms', 'min ms', 'max ms', 'ok'],
        textColumns: 1,
        rows: cases.map((test, index) => {
          const summary = summaries[index]!;
          return [
            test.label,
            formatMs(summary.median),
            formatMs(summary.min),
            formatMs(summary.max),
            formatRuns(summary),
          ];
        }),
        notes: [
          `sshstream push − ssh cat push (medians): **${difference(1, 0)}**; ` +
            `sshstream pull − ssh cat pull: **${difference(3, 2)}**.`,
        ],
      },
    ],
    data: cases.map((test, index) => ({
      label: test.label,
      script: test.script,
      summary: summaries[index],
      samples: samples[index],
    })),
  };
}
