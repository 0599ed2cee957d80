import { sizeLabel } from './args.js';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { makeRandomFile } from './data.js';
import { rawPullCase, rawPushCase, remoteOut, sshCommandCase, sshstreamCase } from './methods.js';
import { formatRate, formatRatio, formatRuns, formatSeconds, type SuiteResult } from './report.js';
import { runRounds } from './rounds.js';
import { summarize } from './stats.js';

// md5 of a file in node, the way sshstream hashes locally: createHash fed 1 MiB chunks.
const NODE_MD5 =
  "const h=require('crypto').createHash('md5');" +
  "require('fs').createReadStream(process.argv[1],{highWaterMark:1<<20})" +
  ".on('data',d=>h.update(d)).on('end',()=>console.log(h.digest('hex')))";

// A bare node program piping its stdin into ssh: what pumping through node costs, no hashing.
const NODE_PIPE =
  "const c=require('child_process').spawn('ssh',process.argv.slice(1)," +
  "{stdio:['pipe','inherit','inherit']});process.stdin.pipe(c.stdin);" +
  "c.on('exit',(x)=>process.exit(x??1))";

/** One step: the case, what it isolates, and which raw transfer it is compared with. */
interface Step {
  key: string;
  test: Case;
  isolates: string;
  /** The raw transfer of the same direction, or undefined for non-transfers. */
  baseline: 'rawPush' | 'rawPull' | undefined;
}

// The remote steps mimic what sshstream's remote script does after the upload: re-read the
// temporary file to hash it, then fsync it.
function phaseSteps(context: BenchContext, file: string, size: number): Step[] {
  const out = remoteOut(context, 'phase-steps');
  const ssh = `ssh ${sshFlags(context)} ${context.host}`;
  const remote = (label: string, command: string): Case => ({
    label,
    script: `${ssh} ${q(command)} < ${q(file)}`,
    bytes: size,
    output: out,
  });
  const sshstream = (direction: 'push' | 'pull', flags: string): Case =>
    sshstreamCase(
      context,
      direction,
      flags,
      `sshstream ${direction}${flags ? ` ${flags}` : ''}`,
      file,
      size,
    );
  return [
    {
      key: 'setup',
      test: sshCommandCase(context, 'ssh h true', 'true'),
      isolates: 'connection setup + auth',
      baseline: undefined,
    },
    {
      key: 'rawPush',
      test: rawPushCase(context, file, size, 'phase-raw'),
      isolates: 'transfer alone',
      baseline: 'rawPush',
    },
    {
      key: 'reread',
      test: remote("ssh h 'cat > f && md5sum f'", `cat > ${out} && md5sum ${out}`),
      isolates: '+ re-read to hash',
      baseline: 'rawPush',
    },
    {
      key: 'fsync',
      test: remote(
        "ssh h 'cat > f && md5sum f && sync f'",
        `cat > ${out} && md5sum ${out} && sync ${out}`,
      ),
      isolates: '+ fsync',
      baseline: 'rawPush',
    },
    {
      key: 'nodePipe',
      test: {
        label: 'node: stdin.pipe(ssh h cat > f)',
        script: `node -e ${q(NODE_PIPE)} -- ${sshFlags(context)} ${context.host} ${q(`cat > ${out}`)} < ${q(file)}`,
        bytes: size,
        output: out,
      },
      isolates: 'pumping through node',
      baseline: 'rawPush',
    },
    {
      key: 'nodeMd5',
      test: {
        label: 'local md5 in node (createHash)',
        script: `node -e ${q(NODE_MD5)} ${q(file)}`,
        bytes: size,
      },
      isolates: 'local hashing alone',
      baseline: undefined,
    },
    {
      key: 'pushNone',
      test: sshstream('push', '--checksum none'),
      isolates: 'sshstream without hashing',
      baseline: 'rawPush',
    },
    {
      key: 'push',
      test: sshstream('push', ''),
      isolates: 'sshstream (md5)',
      baseline: 'rawPush',
    },
    {
      key: 'rawPull',
      test: { ...rawPullCase(context, file, size, 'phase-raw'), label: 'pull: ssh h cat f > out' },
      isolates: 'transfer alone',
      baseline: 'rawPull',
    },
    {
      key: 'pullNone',
      test: sshstream('pull', '--checksum none'),
      isolates: 'sshstream pull without hashing',
      baseline: 'rawPull',
    },
    {
      key: 'pull',
      test: sshstream('pull', ''),
      isolates: 'sshstream pull (md5)',
      baseline: 'rawPull',
    },
  ];
}

/**
 * Where sshstream's time goes, by difference: each remote step sshstream takes after the
 * upload is added to a raw push in turn, and sshstream runs with and without hashing.
 */
export async function runPhases(context: BenchContext): Promise<SuiteResult> {
  const size = Math.max(...context.options.sizes);
  const file = await makeRandomFile(context.work, size);
  const steps = phaseSteps(context, file, size);
  const samples = await runRounds(
    context,
    `phases ${sizeLabel(size)}`,
    steps.map((step) => step.test),
    context.options.rounds,
  );
  const medians = new Map(
    steps.map((step, index) => [step.key, summarize(samples[index]!).median]),
  );
  const delta = (a: string, b: string): string => {
    const [x, y] = [medians.get(a), medians.get(b)];
    return x === undefined || y === undefined ? 'n/a' : `${(x - y).toFixed(3)} s`;
  };
  return {
    suite: 'phases',
    tables: [
      {
        title: `Where the time goes (${sizeLabel(size)} random data, median of ${context.options.rounds})`,
        columns: ['step', 'isolates', 'median s', 'MiB/s', '÷ raw ssh', 'ok'],
        rows: steps.map((step, index) => {
          const summary = summarize(samples[index]!);
          return [
            step.test.label,
            step.isolates,
            formatSeconds(summary.median),
            step.test.bytes ? formatRate(size, summary.median) : '-',
            step.baseline ? formatRatio(summary.median, medians.get(step.baseline)) : '-',
            formatRuns(summary),
          ];
        }),
        notes: [
          `Push, by difference of medians: remote re-read for the hash **+${delta('reread', 'rawPush')}**, ` +
            `fsync **+${delta('fsync', 'reread')}**; pumping through node **+${delta('nodePipe', 'rawPush')}**; ` +
            `hashing in sshstream push (md5 − none) **+${delta('push', 'pushNone')}**; ` +
            `sshstream push --checksum none − raw **+${delta('pushNone', 'rawPush')}**; ` +
            `sshstream push − (raw + re-read + fsync) **${delta('push', 'fsync')}**.`,
          `Pull: hashing (md5 − none) **+${delta('pull', 'pullNone')}**; ` +
            `sshstream pull --checksum none − raw **+${delta('pullNone', 'rawPull')}**.`,
        ],
      },
    ],
    data: steps.map((step, index) => ({
      key: step.key,
      label: step.test.label,
      script: step.test.script,
      summary: summarize(samples[index]!),
      samples: samples[index],
    })),
  };
}
