import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sizeLabel } from './args.js';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { makeRandomFile } from './data.js';
import { runScript } from './measure.js';
import { pullCases, pushCases, remoteOut, RSYNC_MD5_LABEL } from './methods.js';
import {
  formatRange,
  formatRate,
  formatRuns,
  formatSeconds,
  type SuiteResult,
  type Table,
} from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

const PROXY = fileURLToPath(new URL('./delay-proxy.js', import.meta.url));
/** The ssh_config alias of the delayed link. */
const WAN_HOST = 'wan';
/** Channels of the raw reference row: what one connection carries when the window is not the limit. */
const REFERENCE_CHANNELS = 4;
/** Where the stall case's link goes silent, and the deadline it runs with. */
const STALL_AFTER = 4 << 20;
const STALL_TIMEOUT_S = 10;

// A copy of the sandbox alias's ssh_config block, renamed to `wan` and reached through the
// delay proxy (optionally one that stalls).
async function wanConfig(context: BenchContext, delayMs: number, stallAfter?: number) {
  const text = await readFile(context.config, 'utf8');
  const block = text
    .split(/\n(?=Host )/)
    .find((entry) => entry.split('\n')[0]!.trim() === `Host ${context.host}`);
  if (block === undefined) throw new Error(`no Host ${context.host} block in ${context.config}`);
  const stall = stallAfter === undefined ? '' : ` --stall-after ${stallAfter}`;
  const lines = block.trimEnd().split('\n').slice(1);
  const config = [
    `Host ${WAN_HOST}`,
    `  ProxyCommand ${q(process.execPath)} ${q(PROXY)} --delay ${delayMs}${stall} %h %p`,
    ...lines,
    '',
  ].join('\n');
  const path = join(context.work, `wan-${delayMs}${stall ? '-stall' : ''}.ssh_config`);
  await writeFile(path, config);
  return path;
}

// N sessions of one multiplexed connection, each writing its range with dd at its offset: the
// transfer the window does not limit, as a reference for what the proxied link can carry.
function referenceCase(context: BenchContext, input: string, bytes: number): Case {
  const ssh = `ssh ${sshFlags(context)}`;
  const output = remoteOut(context, 'wan-reference');
  const control = join(context.work, 'wan-master');
  const chunkMiB = Math.ceil(bytes / REFERENCE_CHANNELS / (1 << 20));
  const ranges = Array.from({ length: REFERENCE_CHANNELS }, (_, index) => {
    const remote = `dd of=${output} bs=1M seek=${index * chunkMiB} conv=notrunc 2>/dev/null`;
    return (
      `dd if=${q(input)} bs=1M skip=${index * chunkMiB} count=${chunkMiB} iflag=fullblock 2>/dev/null ` +
      `| ${ssh} -S ${q(control)} ${WAN_HOST} ${q(remote)} &`
    );
  });
  return {
    label: `reference: ${REFERENCE_CHANNELS} raw channels of one connection (dd seek, unverified)`,
    script: [
      `${ssh} -S ${q(control)} -M -f -N -o ControlPersist=no ${WAN_HOST}`,
      `${ssh} -S ${q(control)} ${WAN_HOST} ${q(`: > ${output}`)}`,
      ...ranges,
      'wait',
      `${ssh} -S ${q(control)} -O exit ${WAN_HOST} 2>/dev/null`,
    ].join('\n'),
    bytes,
    output,
  };
}

/** The counts of the --streams rows; the plain sshstream rows show the automatic choice. */
const STREAM_COUNTS = [1, 2, 4, 8] as const;

// sshstream push and pull (into a file: ranges need an output that takes offsets) with a fixed
// number of channels.
function streamsCases(context: BenchContext, input: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const cli = `${q(process.execPath)} ${q(context.cli)}`;
  const pushes = STREAM_COUNTS.map((count) => {
    const output = remoteOut(context, `wan-streams-${count}`);
    return {
      label: `sshstream push --streams ${count}`,
      script: `${cli} push -q --streams ${count} ${sshOpts} ${q(`${WAN_HOST}:${output}`)} < ${q(input)}`,
      bytes,
      output,
    };
  });
  const pulls = [...STREAM_COUNTS, 'auto' as const].map((count) => {
    const output = join(context.work, `wan-pulled-streams-${count}`);
    return {
      label: `sshstream pull --streams ${count} (into a file)`,
      script: `${cli} pull -q --streams ${count} ${sshOpts} ${q(`${WAN_HOST}:${input}`)} ${q(output)}`,
      bytes,
      output,
    };
  });
  return [...pushes, ...pulls];
}

// Random data does not compress, and the md5 rsync and verified shell rows only repeat what
// the loopback tables show: the long link keeps the rows whose speed it decides.
const isWanRow = (test: Case): boolean =>
  !test.label.includes('shell verified') &&
  !test.label.endsWith(' -z') &&
  test.label !== RSYNC_MD5_LABEL;

// The methods of one RTT: every push and pull of the throughput tables (scp and rsync pull
// added), and the raw-channels reference.
function wanCases(context: BenchContext, input: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const pulled = (name: string) => join(context.work, `wan-pulled-${name}`);
  return [
    ...pushCases(context, input, bytes).filter(isWanRow),
    referenceCase(context, input, bytes),
    ...streamsCases(context, input, bytes),
    ...pullCases(context, input, bytes).filter(isWanRow),
    {
      label: 'pull: scp',
      script: `scp -q ${sshOpts} ${q(`${WAN_HOST}:${input}`)} ${q(pulled('scp'))}`,
      bytes,
      output: pulled('scp'),
    },
    {
      label: 'pull: rsync -W -I',
      script: `rsync -W -I -e ${q(`ssh ${sshOpts}`)} ${q(`${WAN_HOST}:${input}`)} ${q(pulled('rsync'))}`,
      bytes,
      output: pulled('rsync'),
    },
  ];
}

/** The one-way delays of the rows: 10, 25 and 50 ms, i.e. 20, 50 and 100 ms RTT. */
const WAN_DELAYS_MS = [10, 25, 50] as const;

// Temporary files of `name` in `dir` once the remote side has cleaned up: the server notices the
// dropped connection a moment after the client exits, so allow it a few seconds.
async function settledLeftovers(dir: string, name: string): Promise<number> {
  let count = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    count = (await readdir(dir)).filter((entry) => entry.startsWith(`.${name}.`)).length;
    if (count === 0) break;
    await sleep(250);
  }
  return count;
}

// The stall case: sshstream push through a link that goes silent after STALL_AFTER bytes.
async function runStall(context: BenchContext, input: string): Promise<string[][]> {
  const config = await wanConfig(context, WAN_DELAYS_MS[0], STALL_AFTER);
  const stalled = { ...context, config, host: WAN_HOST };
  const output = remoteOut(context, 'wan-stalled');
  const rows: string[][] = [];
  for (let round = 1; round <= context.options.rounds; round++) {
    await writeFile(output, 'intact\n');
    const finished = await runScript(
      `${q(process.execPath)} ${q(context.cli)} push -q --stall-timeout ${STALL_TIMEOUT_S} ` +
        `${sshFlags(stalled)} ${q(`${WAN_HOST}:${output}`)} < ${q(input)}`,
      (STALL_TIMEOUT_S + 120) * 1000,
    );
    const intact = (await readFile(output, 'utf8').catch(() => '')) === 'intact\n';
    const leftovers = await settledLeftovers(context.scratch, basename(output));
    context.log(
      `[wan stall ${round}/${context.options.rounds}] exit ${finished.exitCode} after ` +
        `${formatSeconds(finished.seconds)} s; destination ${intact ? 'intact' : 'CHANGED'}`,
    );
    rows.push([
      `${round}`,
      formatSeconds(finished.seconds),
      `${finished.exitCode ?? finished.signal}${finished.timedOut ? ' (timed out)' : ''}`,
      intact ? 'yes' : 'NO',
      `${leftovers}`,
      finished.stderr.trim().split('\n').at(-1) ?? '',
    ]);
  }
  return rows;
}

/**
 * A long link: every method through a delay proxy at 20, 50 and 100 ms RTT, and a stalled
 * link. Ratios are speed against scp in the same RTT (2.00x = twice as fast as scp).
 */
export async function runWan(context: BenchContext): Promise<SuiteResult> {
  const size = context.options.wanSize;
  const file = await makeRandomFile(context.work, size);
  const rows: string[][] = [];
  const data: unknown[] = [];
  for (const delayMs of WAN_DELAYS_MS) {
    const wan = { ...context, config: await wanConfig(context, delayMs), host: WAN_HOST };
    const cases = wanCases(wan, file, size);
    const rtt = `${2 * delayMs} ms`;
    const samples = await runRounds(wan, `wan ${rtt}`, cases, context.options.rounds);
    const summaries = samples.map(summarize);
    const scpOf = (pull: boolean) =>
      summaries[cases.findIndex((test) => test.label === (pull ? 'pull: scp' : 'scp'))]?.median;
    cases.forEach((test, index) => {
      const summary = summaries[index]!;
      const scp = scpOf(test.output?.startsWith(context.work) ?? false);
      rows.push([
        rtt,
        test.label,
        formatSeconds(summary.median),
        formatRate(size, summary.median),
        scp !== undefined && summary.median ? `${(scp / summary.median).toFixed(2)}x` : '-',
        formatRuns(summary),
        formatRange(summary),
      ]);
    });
    data.push({
      rttMs: 2 * delayMs,
      methods: cases.map((test, i) => ({ ...test, samples: samples[i] })),
    });
  }
  const stallRows = await runStall(context, file);
  const tables: Table[] = [
    {
      title: `Long link: ${sizeLabel(size)} through a delay proxy (median of ${context.options.rounds})`,
      columns: ['RTT', 'method', 'median s', 'MiB/s', '× scp speed', 'ok', 'min–max s'],
      rows,
      notes: [
        'The proxy (bench/delay-proxy.ts, as ssh ProxyCommand) holds every chunk for half the RTT ' +
          'each way and buffers without limit, so the SSH channel window (OpenSSH: 2 MiB) is what ' +
          'limits one channel; TCP windows are not modelled (both legs are loopback).',
        `The reference row moves the same bytes as ${REFERENCE_CHANNELS} dd ranges over ${REFERENCE_CHANNELS} ` +
          'channels of one connection, unverified: roughly what the link carries past the window.',
        '"× scp speed" is scp\'s median ÷ the row\'s median (push rows against scp push, pull rows ' +
          'against scp pull): 2.00x is twice as fast as scp.',
      ],
    },
    {
      title: `Stalled link: sshstream push --stall-timeout ${STALL_TIMEOUT_S}, link silent after ${sizeLabel(STALL_AFTER)} (${2 * WAN_DELAYS_MS[0]} ms RTT)`,
      columns: [
        'run',
        'seconds to exit',
        'exit',
        'destination intact',
        'temp files left (5 s on)',
        'message',
      ],
      rows: stallRows,
      notes: [
        'The link goes silent with every socket open (a black hole). Expected: exit 2 about ' +
          `${STALL_TIMEOUT_S} s after the last byte moved, the old destination untouched, no ` +
          'temporary file left. The default --stall-timeout is 60 s.',
      ],
      textColumns: 1,
    },
  ];
  return { suite: 'wan', tables, data };
}
