import { join } from 'node:path';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { nodeWithPeakRss } from './measure.js';

// The start of every plain ssh command: the sandbox's ssh_config (and --cipher) and the alias.
const ssh = (context: BenchContext): string => `ssh ${sshFlags(context)} ${context.host}`;

/** `node dist/bin/sshstream.js` recording its peak RSS into `rssFile`. */
export const sshstream = (context: BenchContext, rssFile: string): string =>
  `${nodeWithPeakRss(q(rssFile), q(context.probe))} ${q(context.cli)}`;

let counter = 0;
const rssFileFor = (context: BenchContext): string =>
  join(context.work, `rss-${process.pid}-${++counter}`);

/** A remote output path in the sandbox's scratch dir. */
export const remoteOut = (context: BenchContext, name: string): string =>
  join(context.scratch, name);

/** The push methods: shell baselines, scp, rsync, sshstream and sshstream -z. */
export function pushCases(context: BenchContext, input: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const out = (name: string) => remoteOut(context, `push-${name}`);
  const target = (name: string) => `${context.host}:${out(name)}`;
  const cases: Case[] = [
    {
      label: "raw: ssh h 'cat > out' < f",
      script: `${ssh(context)} ${q(`cat > ${out('raw')}`)} < ${q(input)}`,
      bytes,
      output: out('raw'),
    },
    {
      label: "shell verified: tee >(md5sum) < f | ssh h 'tee out | md5sum'",
      script: `tee >(md5sum >&2) < ${q(input)} | ${ssh(context)} ${q(`tee ${out('shell')} | md5sum`)}`,
      bytes,
      output: out('shell'),
      hashes: 2,
    },
    {
      label: 'scp',
      script: `scp -q ${sshOpts} ${q(input)} ${q(target('scp'))}`,
      bytes,
      output: out('scp'),
    },
    {
      label: 'rsync -W -I',
      script: `rsync -W -I -e ${q(`ssh ${sshOpts}`)} ${q(input)} ${q(target('rsync'))}`,
      bytes,
      output: out('rsync'),
    },
  ];
  for (const [label, flags] of [
    ['sshstream push', ''],
    ['sshstream push -z', ' -z'],
  ] as const) {
    const rssFile = rssFileFor(context);
    const name = `sshstream${flags.replace(/ /g, '')}`;
    cases.push({
      label,
      script: `${sshstream(context, rssFile)} push -q${flags} ${sshOpts} ${q(target(name))} < ${q(input)}`,
      bytes,
      output: out(name),
      rssFile,
    });
  }
  return cases;
}

/** The pull methods: ssh cat, the verified shell pull, sshstream pull and pull -z. */
export function pullCases(context: BenchContext, source: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const out = (name: string) => join(context.work, `pulled-${name}`);
  const cases: Case[] = [
    {
      label: 'raw: ssh h cat f > out',
      script: `${ssh(context)} ${q(`cat ${source}`)} > ${q(out('raw'))}`,
      bytes,
      output: out('raw'),
    },
    {
      label: "shell verified: ssh h 'cat f | tee >(md5sum)' | tee >(md5sum) > out",
      script:
        `${ssh(context)} ${q(`cat ${source} | tee >(md5sum >&2)`)} ` +
        `| tee >(md5sum >&2) > ${q(out('shell'))}`,
      bytes,
      output: out('shell'),
      hashes: 2,
    },
  ];
  for (const [label, flags] of [
    ['sshstream pull', ''],
    ['sshstream pull -z', ' -z'],
  ] as const) {
    const rssFile = rssFileFor(context);
    const name = `sshstream${flags.replace(/ /g, '')}`;
    cases.push({
      label,
      script: `${sshstream(context, rssFile)} pull -q${flags} ${sshOpts} ${q(`${context.host}:${source}`)} > ${q(out(name))}`,
      bytes,
      output: out(name),
      rssFile,
    });
  }
  return cases;
}

/** sshstream push or pull with extra flags (compression, checksum), for the other suites. */
export function sshstreamCase(
  context: BenchContext,
  direction: 'push' | 'pull',
  flags: string,
  label: string,
  file: string,
  bytes: number,
): Case {
  const sshOpts = sshFlags(context);
  const rssFile = rssFileFor(context);
  const slug = `${direction}${flags.replace(/[^\w]+/g, '_')}`;
  if (direction === 'push') {
    const output = remoteOut(context, `x-${slug}`);
    return {
      label,
      script: `${sshstream(context, rssFile)} push -q ${flags} ${sshOpts} ${q(`${context.host}:${output}`)} < ${q(file)}`,
      bytes,
      output,
      rssFile,
    };
  }
  const output = join(context.work, `x-${slug}`);
  return {
    label,
    script: `${sshstream(context, rssFile)} pull -q ${flags} ${sshOpts} ${q(`${context.host}:${file}`)} > ${q(output)}`,
    bytes,
    output,
    rssFile,
  };
}

/** The raw `ssh h 'cat > f'` push, the floor every other push is compared with. */
export function rawPushCase(
  context: BenchContext,
  input: string,
  bytes: number,
  name: string,
): Case {
  const output = remoteOut(context, name);
  return {
    label: "raw: ssh h 'cat > out' < f",
    script: `${ssh(context)} ${q(`cat > ${output}`)} < ${q(input)}`,
    bytes,
    output,
  };
}

/** The raw `ssh h cat f > out` pull. */
export function rawPullCase(
  context: BenchContext,
  source: string,
  bytes: number,
  name: string,
): Case {
  const output = join(context.work, name);
  return {
    label: 'raw: ssh h cat f > out',
    script: `${ssh(context)} ${q(`cat ${source}`)} > ${q(output)}`,
    bytes,
    output,
  };
}

/** A plain command over ssh (no output file), e.g. `true` for connection setup. */
export const sshCommandCase = (context: BenchContext, label: string, command: string): Case => ({
  label,
  script: `${ssh(context)} ${q(command)}`,
  bytes: 0,
});
