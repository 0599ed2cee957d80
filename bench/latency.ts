import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { rawPullCase, rawPushCase, sshCommandCase, sshstreamCase } from './methods.js';
import { formatMs, formatRuns, type SuiteResult } from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

const SMALL = 1024;
const TIMEOUT_MS = 30_000;
// Indexes into the suite's cases.
const PUSH = 1;
const PULL = 3;
const BARE_NODE = 7;

// Node reads and parses the certificates NODE_EXTRA_CA_CERTS names as it starts, before any
// of sshstream's code runs (about 50 ms on a small VM with Debian's bundle), though sshstream
// never opens a TLS connection. Where the variable is set, the node rows run again without it:
// what a user who has not set it gets.
const EXTRA_CERTS = process.env['NODE_EXTRA_CA_CERTS'] !== undefined;

const withoutExtraCerts = (test: Case): Case => ({
  ...test,
  label: `${test.label}, NODE_EXTRA_CA_CERTS unset`,
  script: `env -u NODE_EXTRA_CA_CERTS ${test.script}`,
});

/** Small-transfer latency: 1 KiB pushes and pulls, sshstream against plain ssh, N times each. */
export async function runLatency(context: BenchContext): Promise<SuiteResult> {
  const file = join(context.work, 'small-1K');
  await writeFile(file, Buffer.alloc(SMALL, 'x'));
  const base: Case[] = [
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
  ];
  const cases = [
    ...base,
    ...(EXTRA_CERTS ? [PUSH, PULL, BARE_NODE].map((index) => withoutExtraCerts(base[index]!)) : []),
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
          `sshstream push − ssh cat push (medians): **${difference(PUSH, 0)}**; ` +
            `sshstream pull − ssh cat pull: **${difference(PULL, 2)}**.`,
          ...(EXTRA_CERTS
            ? [
                `Without NODE_EXTRA_CA_CERTS (node reads its certificates as it starts, though ` +
                  `sshstream makes no TLS connection): push − ssh cat push ` +
                  `**${difference(base.length, 0)}**; pull − ssh cat pull ` +
                  `**${difference(base.length + 1, 2)}**.`,
              ]
            : []),
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
