import { join } from 'node:path';
import { q, sshFlags, type BenchContext, type Case } from './context.js';
import { pullCases, pushCases, rawPushCase, remoteOut, RSYNC_MD5_LABEL } from './methods.js';
import { WAN_HOST } from './wan-link.js';

/** Channels of one connection in the channels reference row. */
const REFERENCE_CHANNELS = 4;
/** Separate connections in the connections reference row. */
const REFERENCE_CONNECTIONS = 8;

// `count` dd ranges of `input`, each piped into `ssh` (a command prefix ending in the host)
// that writes it at its offset of `output`, all at once.
function ddRanges(input: string, bytes: number, count: number, ssh: string, output: string) {
  const chunkMiB = Math.ceil(bytes / count / (1 << 20));
  return Array.from({ length: count }, (_, index) => {
    const remote = `dd of=${output} bs=1M seek=${index * chunkMiB} conv=notrunc 2>/dev/null`;
    return (
      `dd if=${q(input)} bs=1M skip=${index * chunkMiB} count=${chunkMiB} iflag=fullblock 2>/dev/null ` +
      `| ${ssh} ${q(remote)} &`
    );
  });
}

// N sessions of one multiplexed connection, each writing its range with dd at its offset: the
// transfer the channel window does not limit.
function channelsReference(context: BenchContext, input: string, bytes: number): Case {
  const ssh = `ssh ${sshFlags(context)}`;
  const output = remoteOut(context, 'wan-reference');
  const control = `-S ${q(join(context.work, 'wan-master'))}`;
  return {
    label: `reference: ${REFERENCE_CHANNELS} raw channels of one connection (dd seek, unverified)`,
    script: [
      `${ssh} ${control} -M -f -N -o ControlPersist=no ${WAN_HOST}`,
      `${ssh} ${control} ${WAN_HOST} ${q(`: > ${output}`)}`,
      ...ddRanges(input, bytes, REFERENCE_CHANNELS, `${ssh} ${control} ${WAN_HOST}`, output),
      'wait',
      `${ssh} ${control} -O exit ${WAN_HOST} 2>/dev/null`,
    ].join('\n'),
    bytes,
    output,
  };
}

// N separate connections, each writing its range: what the link carries when neither the
// channel window nor one connection's TCP window is the limit. (The output is removed before
// each run, so the ranges need no truncation first.)
function connectionsReference(context: BenchContext, input: string, bytes: number): Case {
  const output = remoteOut(context, 'wan-connections');
  const ssh = `ssh ${sshFlags(context)} ${WAN_HOST}`;
  return {
    label: `reference: ${REFERENCE_CONNECTIONS} raw connections (dd seek, unverified)`,
    script: [...ddRanges(input, bytes, REFERENCE_CONNECTIONS, ssh, output), 'wait'].join('\n'),
    bytes,
    output,
  };
}

/** The 0 ms rows of the tun link: what ssh gets through it undelayed, one connection and many. */
export const ceilingCases = (context: BenchContext, input: string, bytes: number): Case[] => [
  rawPushCase(context, input, bytes, 'wan-ceiling-raw'),
  connectionsReference(context, input, bytes),
];

/** The counts of the --streams rows; the plain sshstream push row shows the automatic choice. */
const STREAM_COUNTS = ['1', '2', '4', '8', '4 --single-connection', '8 --single-connection'];

// sshstream push and pull (into a file: ranges need an output that takes offsets) with a fixed
// number of channels, on connections of their own and all on one connection.
function streamsCases(context: BenchContext, input: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const cli = `${q(process.execPath)} ${q(context.cli)}`;
  const slug = (count: string) => count.replace(/\W+/g, '-');
  const pushes = STREAM_COUNTS.map((count) => {
    const output = remoteOut(context, `wan-streams-${slug(count)}`);
    return {
      label: `sshstream push --streams ${count}`,
      script: `${cli} push -q --streams ${count} ${sshOpts} ${q(`${WAN_HOST}:${output}`)} < ${q(input)}`,
      bytes,
      output,
    };
  });
  const pulls = [...STREAM_COUNTS, 'auto'].map((count) => {
    const output = join(context.work, `wan-pulled-streams-${slug(count)}`);
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

/**
 * The methods of one RTT: every push and pull of the throughput tables (scp and rsync pull
 * added), the --streams rows, and the two raw references.
 */
export function wanCases(context: BenchContext, input: string, bytes: number): Case[] {
  const sshOpts = sshFlags(context);
  const pulled = (name: string) => join(context.work, `wan-pulled-${name}`);
  return [
    ...pushCases(context, input, bytes).filter(isWanRow),
    channelsReference(context, input, bytes),
    connectionsReference(context, input, bytes),
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
