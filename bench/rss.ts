import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { sizeLabel } from './args.js';
import type { BenchContext, Case } from './context.js';
import { makeRandomFile } from './data.js';
import { rssMethod, runScript } from './measure.js';
import { sshstream, sshstreamCase } from './methods.js';
import { formatMiB, formatRate, formatRuns, formatSeconds, type SuiteResult } from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

/** Peak RSS must stay under this for any size: sshstream streams, it never buffers a file. */
const TARGET_KIB = 100 * 1024;

const GiB = 2 ** 30;

// Free bytes on the file system of `dir`, for an unprivileged user.
const freeBytes = async (dir: string): Promise<number> => {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
};

// A large --rss-size (4G) must fit: the input plus one output at a time (the pulled copy in the
// work dir, the pushed one in the sandbox's scratch dir), with 1 GiB to spare. Failing here
// names the problem; a full disk mid-run would only show as short outputs.
async function checkDiskSpace(context: BenchContext, size: number): Promise<void> {
  const [work, scratch] = await Promise.all([stat(context.work), stat(context.scratch)]);
  const needs: [string, number][] = [[context.work, 2 * size]];
  if (work.dev !== scratch.dev) needs.push([context.scratch, size]);
  for (const [dir, need] of needs) {
    const free = await freeBytes(dir);
    if (free < need + GiB) {
      throw new Error(
        `--rss-size ${sizeLabel(size)} needs ${((need + GiB) / GiB).toFixed(1)} GiB free in ` +
          `${dir}, which has ${(free / GiB).toFixed(1)} (set TMPDIR or pick a smaller size)`,
      );
    }
  }
}

/** Peak RSS of the sshstream node process for a large push and pull (plain and -z). */
export async function runRss(context: BenchContext): Promise<SuiteResult> {
  const size = context.options.rssSize;
  await checkDiskSpace(context, size);
  const file = await makeRandomFile(context.work, size);
  // Write the new file out now, with time to spare: the global sync before each run has a
  // 2 minute limit, and several GiB of fresh dirty pages would land in the first timing.
  if (!context.options.noSync) await runScript('sync', 30 * 60_000);
  const baseline = join(context.work, 'rss-baseline');
  const cases: Case[] = [
    {
      label: 'baseline: sshstream --version (node + modules, no transfer)',
      script: `${sshstream(context, baseline)} --version > /dev/null`,
      bytes: 0,
      rssFile: baseline,
    },
    sshstreamCase(context, 'push', '', 'sshstream push', file, size),
    sshstreamCase(context, 'pull', '', 'sshstream pull', file, size),
    sshstreamCase(context, 'push', '-z', 'sshstream push -z', file, size),
    sshstreamCase(context, 'pull', '-z', 'sshstream pull -z', file, size),
  ];
  const samples = await runRounds(context, `rss ${sizeLabel(size)}`, cases, 1);
  const summaries = samples.map(summarize);
  return {
    suite: 'rss',
    tables: [
      {
        title: `Peak RSS of sshstream (${sizeLabel(size)} random data, target < 100 MiB)`,
        columns: ['command', 'size', 'peak RSS MiB', 'target', 'seconds', 'MiB/s', 'ok'],
        textColumns: 1,
        rows: cases.map((test, index) => {
          const summary = summaries[index]!;
          const verdict =
            summary.rssKiB === undefined || test.bytes === 0
              ? '-'
              : summary.rssKiB < TARGET_KIB
                ? 'PASS'
                : 'FAIL';
          return [
            test.label,
            test.bytes ? sizeLabel(size) : '-',
            formatMiB(summary.rssKiB),
            verdict,
            formatSeconds(summary.median),
            test.bytes ? formatRate(size, summary.median) : '-',
            formatRuns(summary),
          ];
        }),
        notes: [
          rssMethod() === 'gnu-time'
            ? 'Measured with `/usr/bin/time -f %M` around node (maximum over node and the ssh it waits for).'
            : 'Measured by a node preload: `process.resourceUsage().maxRSS` at exit.',
        ],
      },
    ],
    data: cases.map((test, index) => ({
      label: test.label,
      size,
      script: test.script,
      summary: summaries[index],
      samples: samples[index],
    })),
  };
}
