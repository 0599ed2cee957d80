import { join } from 'node:path';
import { sizeLabel } from './args.js';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { openCpuMeter, sandboxSshdPid } from './cpu-meter.js';
import { makeRandomFile } from './data.js';
import { sshMallocEnv } from '../lib/ssh/malloc-env.js';
import type { Sample } from './measure.js';
import { rawPullCase, rawPushCase, remoteOut, sshstream } from './methods.js';
import { formatRatio, formatRuns, formatSeconds, type SuiteResult } from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

/** One measured row: which model it is compared with ('' for the model's own parts). */
interface Row {
  test: Case;
  model: '' | 'push' | 'pipe' | 'pull' | 'pullpipe';
  /** The hash of a model part, or the one sshstream verifies with. */
  checksum: string;
}

const GCM = 'aes128-gcm@openssh.com';

// The hash passes a model may use: the fastest of those of each algorithm counts.
const HASH_TOOLS: Record<string, string[]> = {
  md5: ['md5sum'],
  sha256: ['sha256sum', 'openssl dgst -sha256'],
};

function baseRows(context: BenchContext, file: string, size: number): Row[] {
  const pipeOut = remoteOut(context, 'cpu-raw-pipe');
  const hashes = Object.entries(HASH_TOOLS).flatMap(([checksum, tools]) =>
    tools.map((tool) => ({
      test: {
        label: `${tool} f (one hash pass)`,
        script: `${tool} ${q(file)} > /dev/null`,
        bytes: 0,
      },
      model: '' as const,
      checksum,
    })),
  );
  const pullPipeOut = join(context.work, 'cpu-raw-pull-pipe');
  const raws: Case[] = [
    rawPushCase(context, file, size, 'cpu-raw'),
    {
      label: "raw: cat f | ssh h 'cat > out'",
      script: `cat ${q(file)} | ssh ${sshFlags(context)} ${context.host} ${q(`cat > ${pipeOut}`)}`,
      bytes: size,
      output: pipeOut,
    },
    rawPullCase(context, file, size, 'cpu-raw'),
    {
      label: "raw: ssh h 'cat f' | cat > out",
      script: `ssh ${sshFlags(context)} ${context.host} ${q(`cat ${file}`)} | cat > ${q(pullPipeOut)}`,
      bytes: size,
      output: pullPipeOut,
    },
  ];
  // The model's ssh gets the malloc settings sshstream gives its own (ssh/malloc-env.ts): the
  // model is then the least plain ssh costs here, not what it costs with glibc's defaults.
  const tuned = Object.entries(sshMallocEnv({}))
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  return [
    ...raws.map((test) => ({
      test: { ...test, script: `export ${tuned}; ${test.script}` },
      model: '' as const,
      checksum: '',
    })),
    ...hashes,
  ];
}

// sshstream push from a file and from a pipe, pull to stdout and into a file, with `checksum`.
function sshstreamRows(context: BenchContext, file: string, size: number, checksum: string): Row[] {
  const flags = `-q --checksum ${checksum} ${sshFlags(context)}`;
  const cli = sshstream(context, join(context.work, 'cpu-rss'));
  const remote = (name: string) => remoteOut(context, `cpu-${checksum}-${name}`);
  const local = (name: string) => join(context.work, `cpu-${checksum}-${name}`);
  const push = (name: string, label: string, script: (target: string) => string): Row => ({
    test: {
      label,
      script: script(q(`${context.host}:${remote(name)}`)),
      bytes: size,
      output: remote(name),
    },
    model: name === 'pipe' ? 'pipe' : 'push',
    checksum,
  });
  const source = q(`${context.host}:${file}`);
  return [
    push('file', 'sshstream push h:out < f', (t) => `${cli} push ${flags} ${t} < ${q(file)}`),
    push(
      'pipe',
      'cat f | sshstream push h:out',
      (t) => `cat ${q(file)} | ${cli} push ${flags} ${t}`,
    ),
    {
      test: {
        label: 'sshstream pull h:f > out',
        script: `${cli} pull ${flags} ${source} > ${q(local('stdout'))}`,
        bytes: size,
        output: local('stdout'),
      },
      model: 'pull',
      checksum,
    },
    {
      test: {
        label: 'sshstream pull h:f | cat > out',
        script: `${cli} pull ${flags} ${source} | cat > ${q(local('pipe'))}`,
        bytes: size,
        output: local('pipe'),
      },
      model: 'pullpipe',
      checksum,
    },
    {
      test: {
        label: 'sshstream pull h:f out',
        script: `${cli} pull ${flags} ${source} ${q(local('file'))}`,
        bytes: size,
        output: local('file'),
      },
      model: 'pull',
      checksum,
    },
  ];
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * CPU-seconds per transfer, on both ends, against a model: raw ssh moving the bytes plus two
 * passes of the hash (local and remote), each from the same round, so load drift cancels out.
 */
export async function runCpu(given: BenchContext): Promise<SuiteResult> {
  // One cipher for all: sshstream would pick AES-GCM, plain ssh chacha20-poly1305 (twice the CPU).
  const context = { ...given, options: { ...given.options, cipher: given.options.cipher ?? GCM } };
  const size = context.options.cpuSize;
  const file = await makeRandomFile(context.work, size);
  const rows = [
    ...baseRows(context, file, size),
    ...Object.keys(HASH_TOOLS).flatMap((checksum) => sshstreamRows(context, file, size, checksum)),
  ];
  const sshdPid = await sandboxSshdPid(join(context.config, '..', 'sshd_config'));
  const meter = await openCpuMeter(sshdPid);
  let samples: Sample[][];
  try {
    const tests = rows.map((row) => row.test);
    samples = await runRounds(
      context,
      `cpu ${sizeLabel(size)}`,
      tests,
      context.options.rounds,
      meter,
    );
  } finally {
    await meter.close();
  }
  const cpuOf = (index: number, round: number): number | undefined => {
    const sample = samples[index]?.[round];
    return sample?.ok ? sample.cpuSeconds : undefined;
  };
  // A model's CPU in one round: its raw transfer plus twice the cheapest hash pass.
  const modelOf = (model: Row['model'], checksum: string, round: number): number | undefined => {
    const raw = cpuOf(['push', 'pipe', 'pull', 'pullpipe'].indexOf(model), round);
    const passes = rows.flatMap((row, index) =>
      row.model === '' && row.checksum === checksum ? [cpuOf(index, round)] : [],
    );
    const pass = Math.min(...passes.map((value) => value ?? Infinity));
    return raw === undefined || pass === Infinity ? undefined : raw + 2 * pass;
  };
  const rounds = [...Array(context.options.rounds).keys()];
  const table = rows.map((row, index) => {
    const cpu = rounds.flatMap((round) => cpuOf(index, round) ?? []);
    const ratios = rounds.flatMap((round) => {
      const [own, model] = [
        cpuOf(index, round),
        row.model && modelOf(row.model, row.checksum, round),
      ];
      return own === undefined || !model ? [] : [own / model];
    });
    const models = rounds.flatMap(
      (round) => (row.model && modelOf(row.model, row.checksum, round)) || [],
    );
    const summary = summarize(samples[index]!);
    return [
      row.checksum || '-',
      row.test.label,
      formatSeconds(median(cpu)),
      row.model ? formatSeconds(median(models)) : '',
      row.model ? formatRatio(median(ratios), 1) : '',
      formatSeconds(summary.median),
      formatRuns(summary),
    ];
  });
  return {
    suite: 'cpu',
    tables: [
      {
        title: `CPU-seconds per transfer (${sizeLabel(size)} random data, median of ${context.options.rounds})`,
        columns: ['checksum', 'method', 'CPU-s', 'model CPU-s', '÷ model', 'wall s', 'ok'],
        rows: table,
        notes: [
          `Every row with -o Ciphers=${context.options.cipher}. ` +
            `CPU measured with ${meter.method}: the command and every process the sandbox sshd ran ` +
            'for it (both ends of the transfer), summed. The model is raw ssh moving the bytes ' +
            '(the row of the same kind: file on stdin, pipe, pull, or pull into a pipe; its ssh ' +
            'with the malloc settings sshstream gives its own) plus two passes of the ' +
            'hash (local and remote), the fastest tool\'s; "÷ model" is the median of the ' +
            'per-round ratios. Kernel writeback threads are not counted: sshstream fsyncs its ' +
            'file before the rename (charged to it), the raw rows leave theirs to the kernel.',
        ],
      },
    ],
    data: rows.map((row, index) => ({
      label: row.test.label,
      checksum: row.checksum,
      script: row.test.script,
      summary: summarize(samples[index]!),
      samples: samples[index],
    })),
  };
}
