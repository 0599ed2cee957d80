import { readFile, rm, stat } from 'node:fs/promises';
import { timeoutFor, type BenchContext, type Case } from './context.js';
import type { CpuMeter } from './cpu-meter.js';
import { failureOf, runScript, takePeakRss, type Finished, type Sample } from './measure.js';
import { formatRate, formatSeconds } from './report.js';

/** Thrown between runs once SIGINT or SIGTERM arrived. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

let interruptedBy: NodeJS.Signals | undefined;

/** Marks the run as interrupted: the next round boundary throws {@link Interrupted}. */
export function interrupt(signal: NodeJS.Signals): void {
  interruptedBy ??= signal;
}

const checkInterrupted = (): void => {
  if (interruptedBy) throw new Interrupted(interruptedBy);
};

// Bytes sent on lo so far; only meaningful in our own namespace, where lo carries only our runs.
async function loTxBytes(): Promise<number | undefined> {
  const text = await readFile('/proc/net/dev', 'utf8').catch(() => '');
  const line = text.split('\n').find((row) => row.trim().startsWith('lo:'));
  const fields = line?.split(':')[1]?.trim().split(/\s+/);
  return fields?.[8] === undefined ? undefined : Number(fields[8]);
}

// Flushes dirty pages from earlier runs so that writeback does not land in the next timing.
async function settleDisk(context: BenchContext): Promise<void> {
  if (!context.options.noSync) await runScript('sync', 120_000);
}

// The files a case must leave: `output` and `outputs`.
const outputsOf = (test: Case): string[] => [
  ...(test.output === undefined ? [] : [test.output]),
  ...(test.outputs ?? []),
];

// What the script wrote into `inputCount` (read and removed); undefined when nothing was.
async function takeInputCount(test: Case): Promise<number | undefined> {
  if (test.inputCount === undefined) return undefined;
  const text = await readFile(test.inputCount, 'utf8').catch(() => '');
  await rm(test.inputCount, { force: true });
  return text.trim() === '' ? undefined : Number(text.trim());
}

// The reason a run whose command succeeded still does not count: wrong size, hashes disagree,
// input not read exactly once.
async function checkResult(
  test: Case,
  finished: Finished,
  inputBytes: number | undefined,
): Promise<string | undefined> {
  for (const output of outputsOf(test)) {
    const size = (await stat(output).catch(() => undefined))?.size;
    if (size === undefined) return `no output file ${output}`;
    if (size !== test.bytes) return `output ${output} has ${size} bytes, expected ${test.bytes}`;
  }
  if (test.hashes !== undefined) {
    const digests = `${finished.stdout}\n${finished.stderr}`.match(/\b[0-9a-f]{32}\b/g) ?? [];
    if (digests.length !== test.hashes || new Set(digests).size !== 1) {
      return `md5 lines disagree or missing: ${digests.join(' ') || 'none'}`;
    }
  }
  if (test.inputCount !== undefined && inputBytes !== test.bytes) {
    return `input fed ${inputBytes ?? 'an unknown number of'} bytes, expected ${test.bytes}`;
  }
  return undefined;
}

/**
 * Runs one case once: clean up, time it (and count its CPU with `meter`), check its output,
 * clean up again.
 */
async function runCase(context: BenchContext, test: Case, meter?: CpuMeter): Promise<Sample> {
  const outputs = outputsOf(test);
  for (const output of outputs) await rm(output, { force: true });
  if (test.inputCount) await rm(test.inputCount, { force: true });
  await settleDisk(context);
  const timeoutMs = test.timeoutMs ?? timeoutFor(context, test.bytes);
  const before = context.netns ? await loTxBytes() : undefined;
  const cpuBefore = await meter?.read();
  const finished = await runScript(meter ? `${meter.join} ${test.script}` : test.script, timeoutMs);
  await meter?.settle();
  const cpuAfter = await meter?.read();
  const after = context.netns ? await loTxBytes() : undefined;
  const inputBytes = await takeInputCount(test);
  const error = failureOf(finished, timeoutMs) ?? (await checkResult(test, finished, inputBytes));
  const rssKiB = test.rssFile ? await takePeakRss(test.rssFile) : undefined;
  for (const output of outputs) await rm(output, { force: true });
  return {
    ok: error === undefined,
    seconds: finished.seconds,
    ...(error === undefined ? {} : { error }),
    ...(rssKiB === undefined ? {} : { rssKiB }),
    ...(before !== undefined && after !== undefined ? { wireBytes: after - before } : {}),
    ...(inputBytes === undefined ? {} : { inputBytes }),
    ...(cpuBefore === undefined || cpuAfter === undefined
      ? {}
      : { cpuSeconds: cpuAfter - cpuBefore }),
  };
}

/**
 * Runs `cases` in interleaved rounds (A B C, A B C, ...), so drift in machine load spreads over
 * all methods alike; with `meter`, each sample has its CPU-seconds. Returns the samples of each
 * case, in the order of `cases`.
 */
export async function runRounds(
  context: BenchContext,
  title: string,
  cases: readonly Case[],
  rounds: number,
  meter?: CpuMeter,
): Promise<Sample[][]> {
  const samples: Sample[][] = cases.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [index, test] of cases.entries()) {
      checkInterrupted();
      const sample = await runCase(context, test, meter);
      samples[index]!.push(sample);
      const rate =
        test.bytes >= 1 << 20 ? ` (${formatRate(test.bytes, sample.seconds)} MiB/s)` : '';
      const cpu = sample.cpuSeconds === undefined ? '' : `, ${sample.cpuSeconds.toFixed(2)} CPU-s`;
      const outcome = sample.ok
        ? `${formatSeconds(sample.seconds)} s${rate}${cpu}`
        : `FAILED ${sample.error}`;
      context.log(`[${title} ${round}/${rounds}] ${test.label}: ${outcome}`);
    }
  }
  checkInterrupted();
  return samples;
}
