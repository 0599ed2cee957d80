import { loadavg } from 'node:os';
import { sizeLabel } from './args.js';
import type { BenchContext, Case } from './context.js';
import { makeRandomFile } from './data.js';
import {
  formatRange,
  formatRate,
  formatRuns,
  formatSeconds,
  type SuiteResult,
  type Table,
} from './report.js';
import { runRounds } from './rounds.js';
import { summarize, type Summary } from './stats.js';
import { ceilingCases, wanCases } from './wan-cases.js';
import type { LinkCounters } from './tun-devices.js';
import { openWanLink } from './wan-link.js';
import { runStall } from './wan-stall.js';

/** The one-way delay of the stall case: 10 ms, i.e. 20 ms RTT. */
const STALL_DELAY_MS = 10;

// The table rows of one RTT; the ratio is scp's median over the row's, push rows against scp
// push and pull rows (those writing into the local work dir) against scp pull.
function tableRows(
  context: BenchContext,
  rtt: string,
  cases: readonly Case[],
  summaries: readonly Summary[],
): string[][] {
  const scpOf = (pull: boolean) =>
    summaries[cases.findIndex((test) => test.label === (pull ? 'pull: scp' : 'scp'))]?.median;
  return cases.map((test, index) => {
    const summary = summaries[index]!;
    const scp = scpOf(test.output?.startsWith(context.work) ?? false);
    return [
      rtt,
      test.label,
      formatSeconds(summary.median),
      formatRate(test.bytes, summary.median),
      scp !== undefined && summary.median ? `${(scp / summary.median).toFixed(2)}x` : '-',
      formatRuns(summary),
      formatRange(summary),
    ];
  });
}

// One note per RTT: the machine's load (it is shared) and, on the tun link, the packets it
// dropped and the segments TCP resent inside the namespace while the group ran.
function groupNote(rtt: string, before?: LinkCounters, after?: LinkCounters): string {
  const load = `${rtt}: load average ${loadavg()[0]!.toFixed(1)} at the end`;
  if (before === undefined || after === undefined) return `${load}.`;
  return (
    `${load}; the link dropped ${after.dropped - before.dropped} packets, TCP inside the ` +
    `namespace resent ${after.retransmitted - before.retransmitted} segments.`
  );
}

/**
 * A long link: every method at each of --wan-rtts (0, 20, 50 and 100 ms) through the tun delay
 * link (real TCP on both ends) or, where it cannot be built, the delay proxy (not at 0 ms);
 * then a push through a stalled link.
 * Ratios are speed against scp in the same RTT (2.00x = twice as fast as scp).
 */
// --wan-rows: a row runs when no patterns are given, when its label matches one (`*` matches
// anything), or when it is scp's (the yardstick of the ratio column).
const chosen = (patterns: readonly string[], label: string): boolean =>
  patterns.length === 0 ||
  label === 'scp' ||
  label === 'pull: scp' ||
  patterns.some((pattern) => globMatches(pattern, label));

const globMatches = (pattern: string, text: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(text);

export async function runWan(context: BenchContext): Promise<SuiteResult> {
  const size = context.options.wanSize;
  const file = await makeRandomFile(context.work, size);
  const rows: string[][] = [];
  const data: unknown[] = [];
  const groupNotes: string[] = [];
  const link = await openWanLink(context);
  try {
    const rtts = context.options.wanRtts.filter((rtt) => rtt > 0 || link.tun);
    for (const delayMs of rtts.map((rtt) => rtt / 2)) {
      const { context: wan, wrap } = await link.at(delayMs);
      const cases = (delayMs === 0 ? ceilingCases : wanCases)(wan, file, size)
        .filter((test) => chosen(context.options.wanRows, test.label))
        .map((test) => ({ ...test, script: wrap(test.script) }));
      const rtt = `${2 * delayMs} ms`;
      const before = link.counters?.();
      const samples = await runRounds(wan, `wan ${rtt}`, cases, context.options.rounds);
      const note = groupNote(rtt, before, link.counters?.());
      groupNotes.push(note);
      rows.push(...tableRows(context, rtt, cases, samples.map(summarize)));
      data.push({
        rttMs: 2 * delayMs,
        link: link.name,
        note,
        methods: cases.map((test, i) => ({ ...test, samples: samples[i] })),
      });
    }
  } finally {
    await link.stop();
  }
  const stall = await runStall(context, file, STALL_DELAY_MS);
  const wanTable: Table = {
    title: `Long link: ${sizeLabel(size)} through ${link.name} (median of ${context.options.rounds})`,
    columns: ['RTT', 'method', 'median s', 'MiB/s', '× scp speed', 'ok', 'min–max s'],
    rows,
    notes: [
      ...link.notes,
      ...groupNotes,
      'The reference rows move the same bytes as dd ranges (each written at its offset, ' +
        'unverified): over channels of one connection (past the SSH window, not past TCP’s), ' +
        'and over separate connections (roughly what the link carries).',
      '"× scp speed" is scp\'s median ÷ the row\'s median (push rows against scp push, pull rows ' +
        'against scp pull): 2.00x is twice as fast as scp.',
    ],
  };
  return { suite: 'wan', tables: [wanTable, stall], data };
}
