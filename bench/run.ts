// The benchmark of issue 5: `npm run bench -- [--quick] [--sizes 256M,1G] [--link 200mbit] ...`.
// Starts the sandbox sshd, makes test data, runs the suites and prints a markdown report;
// JSON and markdown copies go to bench/results/. Never part of `npm test`.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../lib/sandbox/sandbox.js';
import { findExecutable } from '../transforms/which.js';
import {
  BenchUsageError,
  parseBenchArgs,
  sizeLabel,
  USAGE,
  type BenchOptions,
  type Suite,
} from './args.js';
import { runCompress } from './compress.js';
import { runCpu } from './cpu.js';
import { sandboxServerEnv, type BenchContext } from './context.js';
import { describeEnvironment, environmentLines } from './environment.js';
import { FAN_OUT_ALIASES, runFanOut } from './fan-out.js';
import { runLatency } from './latency.js';
import { killRunning } from './measure.js';
import { currentNamespace, LinkUnavailableError, runInNamespace } from './netns.js';
import { runPhases } from './phases.js';
import { renderMarkdown, writeResults, type SuiteResult, type Table } from './report.js';
import { interrupt, Interrupted } from './rounds.js';
import { runRss } from './rss.js';
import { describeRevision, snapshotCli, type Revision } from './snapshot.js';
import { runThroughput } from './throughput.js';
import { runWan } from './wan.js';

const SCRIPT = fileURLToPath(import.meta.url);
const BUILT_CLI = fileURLToPath(new URL('../bin/sshstream.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./rss-probe.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const TOOLS = [
  'ssh',
  'scp',
  'rsync',
  'bash',
  'tee',
  'md5sum',
  'sha256sum',
  'openssl',
  'gzip',
  'zstd',
  'sync',
];

const SUITE_RUNNERS: Record<Suite, (context: BenchContext) => Promise<SuiteResult>> = {
  push: (context) => runThroughput(context, 'push'),
  pull: (context) => runThroughput(context, 'pull'),
  latency: runLatency,
  rss: runRss,
  compress: runCompress,
  phases: runPhases,
  fanout: runFanOut,
  wan: runWan,
  cpu: runCpu,
};

const started = Date.now();
const log = (line: string): void => {
  const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[${elapsed}s] ${line}\n`);
};

// Between runs a signal stops the benchmark; the running command is killed at once.
function onSignals(): void {
  const stop = (signal: NodeJS.Signals): void => {
    interrupt(signal);
    killRunning();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function runSuites(
  context: BenchContext,
): Promise<{ results: SuiteResult[]; failed: Table[]; interrupted?: NodeJS.Signals }> {
  const results: SuiteResult[] = [];
  const failed: Table[] = [];
  for (const suite of context.options.suites) {
    log(`suite ${suite}`);
    try {
      results.push(await SUITE_RUNNERS[suite](context));
    } catch (error) {
      if (error instanceof Interrupted) return { results, failed, interrupted: error.signal };
      const message = error instanceof Error ? error.message : String(error);
      log(`suite ${suite} failed: ${message}`);
      failed.push({
        title: `${suite}: FAILED`,
        columns: ['suite', 'error'],
        rows: [[suite, message]],
      });
    }
  }
  return { results, failed };
}

function preamble(options: BenchOptions, revision: Revision): string[] {
  const missing = TOOLS.filter((tool) => findExecutable(tool) === undefined);
  const changed = revision.changed.length
    ? ` plus uncommitted changes to ${revision.changed.join(', ')}`
    : '';
  return [
    `- code: commit ${revision.commit}${changed} (measured from a copy of dist/ taken at the start)`,
    `- sizes ${options.sizes.map(sizeLabel).join(', ')}, ${options.rounds} interleaved round(s); ` +
      `suites: ${options.suites.join(', ')}; a global sync(1) runs between measured commands` +
      (options.noSync ? ' (disabled by --no-sync)' : ''),
    options.tunedSshd
      ? '- sshd: started with glibc malloc settings (--tuned-sshd): ' +
        Object.entries(sandboxServerEnv(options))
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')
      : "- sshd: stock (glibc's default malloc; --tuned-sshd gives it sshstream's ssh settings)",
    ...(missing.length ? [`- missing tools (their rows fail): ${missing.join(', ')}`] : []),
  ];
}

async function bench(options: BenchOptions, argv: readonly string[]): Promise<number> {
  onSignals();
  if (options.inNetns !== undefined) {
    const actual = currentNamespace();
    if (actual !== options.inNetns)
      log(`warning: expected namespace ${options.inNetns}, in "${actual}"`);
  }
  if (!existsSync(BUILT_CLI)) {
    process.stderr.write(`bench: ${BUILT_CLI} is missing: build first (npx tsc -p .)\n`);
    return 1;
  }
  const work = await mkdtemp(join(tmpdir(), 'sshstream-bench-'));
  let sandbox: Sandbox | undefined;
  try {
    const revision = await describeRevision();
    const cli = await snapshotCli(join(work, 'cli'));
    log(`starting the sandbox sshd; data in ${work}`);
    sandbox = await startSandbox({
      aliases: FAN_OUT_ALIASES,
      serverEnv: sandboxServerEnv(options),
    });
    const context: BenchContext = {
      options,
      host: sandbox.host,
      config: sandbox.configPath,
      scratch: sandbox.scratch,
      work,
      cli,
      probe: PROBE,
      netns: options.inNetns,
      log,
    };
    const environment = await describeEnvironment(context);
    const { results, failed, interrupted } = await runSuites(context);
    const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
    const heading = `sshstream benchmark ${new Date(started).toISOString()}`;
    const lines = environmentLines(environment, preamble(options, revision));
    if (interrupted) lines.push(`- **interrupted by ${interrupted}: partial results**`);
    const markdown = renderMarkdown(heading, lines, [
      ...results.flatMap((result) => result.tables),
      ...failed,
    ]);
    const json = {
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      argv,
      options,
      environment,
      revision,
      interrupted: interrupted ?? null,
      suites: Object.fromEntries(results.map((result) => [result.suite, result.data])),
      failedSuites: failed.map((table) => table.rows[0]),
      markdown,
    };
    const path = await writeResults(RESULTS, stamp, json, markdown);
    process.stdout.write(markdown);
    log(`results: ${path}`);
    if (interrupted) return interrupted === 'SIGTERM' ? 143 : 130;
    return 0;
  } finally {
    await sandbox?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    return 1;
  }
  if (options === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.link !== undefined && options.inNetns === undefined) {
    try {
      return await runInNamespace(SCRIPT, argv, options.link);
    } catch (error) {
      if (!(error instanceof LinkUnavailableError)) throw error;
      process.stderr.write(`bench: ${error.message}\n`);
      return 1;
    }
  }
  try {
    return await bench(options, argv);
  } catch (error) {
    // Only setup can get here (no sshd, no disk space): measured commands never throw.
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
