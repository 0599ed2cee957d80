import { spawnSync } from 'node:child_process';
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

/** The labels of the baselines the push and pull tables compare every method with. */
export const BASELINES = {
  push: {
    raw: "raw: ssh h 'cat > out' < f",
    verified: "shell verified: tee >(md5sum) < f | ssh h 'tee out | md5sum'",
  },
  pull: {
    raw: 'raw: ssh h cat f > out',
    verified: "shell verified: ssh h 'cat f | tee >(md5sum)' | tee >(md5sum) > out",
  },
} as const;

let rsyncMd5: boolean | undefined;

/**
 * Whether the local rsync takes `--checksum-choice=md5` (checked once). rsync 3.2+ negotiates
 * xxh128 as its whole-file checksum; with md5 it does the same hashing work as sshstream.
 * (The sandbox's remote rsync is the same binary.) `--version` exits 0 for any choice, so
 * when rsync prints its "Checksum list", md5 must be in it as well.
 */
export function rsyncHasMd5Choice(): boolean {
  if (rsyncMd5 === undefined) {
    const result = spawnSync('rsync', ['--checksum-choice=md5', '--version'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    const list = /^Checksum list:\s*\n(.*)$/m.exec(result.stdout ?? '')?.[1];
    rsyncMd5 = result.status === 0 && (list === undefined || /\bmd5\b/.test(list));
  }
  return rsyncMd5;
}

/** The label of the rsync row that hashes with md5 like sshstream (when rsync supports it). */
export const RSYNC_MD5_LABEL = 'rsync -W -I --checksum-choice=md5 (md5 both ends, like sshstream)';

/**
 * The push methods: shell baselines, scp, rsync (its own checksum, and md5 when it can),
 * sshstream and sshstream -z.
 */
export function pushCases(context: BenchContext, input: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const out = (name: string) => remoteOut(context, `push-${name}`);
  const target = (name: string) => `${context.host}:${out(name)}`;
  const cases: Case[] = [
    {
      label: BASELINES.push.raw,
      script: `${ssh(context)} ${q(`cat > ${out('raw')}`)} < ${q(input)}`,
      bytes,
      output: out('raw'),
    },
    {
      label: BASELINES.push.verified,
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
  if (rsyncHasMd5Choice()) {
    cases.push({
      label: RSYNC_MD5_LABEL,
      script: `rsync -W -I --checksum-choice=md5 -e ${q(`ssh ${sshOpts}`)} ${q(input)} ${q(target('rsync-md5'))}`,
      bytes,
      output: out('rsync-md5'),
    });
  }
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
      label: BASELINES.pull.raw,
      script: `${ssh(context)} ${q(`cat ${source}`)} > ${q(out('raw'))}`,
      bytes,
      output: out('raw'),
    },
    {
      label: BASELINES.pull.verified,
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
    label: BASELINES.push.raw,
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
    label: BASELINES.pull.raw,
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
