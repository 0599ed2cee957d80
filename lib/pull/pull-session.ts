import type { Readable } from 'node:stream';
import type { ChecksumResult } from '../../transforms/checksum.js';
import { DEFAULT_COMPRESSION_LEVEL, localCompressions } from '../../transforms/compress.js';
import { fastCipherOptions } from '../ssh/cipher.js';
import {
  ConnectionError,
  SshStreamError,
  VerificationError,
  type ErrorContext,
} from '../util/errors.js';
import { classifyFailure } from '../ssh/failure.js';
import { keepAliveOptions } from '../ssh/keep-alive.js';
import type { PullOptions } from './options.js';
import { buildRemoteCommand, SCRIPT_INPUT } from '../remote/script.js';
import { newReportTag } from '../remote/report-tag.js';
import { ReportReader } from '../remote/reports.js';
import { sessionOptions } from '../ssh/session-options.js';
import {
  buildSshInvocation,
  spawnSsh,
  type SshProcess,
  type SshProcessResult,
} from '../ssh/command.js';
import { stallTimeoutOf } from '../util/stall-watchdog.js';
import type { Target } from '../ssh/target.js';

// How long a local stage's error waits for the remote side's own report of the cause.
const REMOTE_REPORT_GRACE_MS = 2000;

/** The ssh process of one pull: the remote pull script's data on stdout, its reports on stderr. */
export interface PullSession {
  readonly tag: string;
  readonly child: SshProcess;
  readonly stdout: Readable;
  readonly reports: ReportReader;
}

/**
 * Starts the remote script with `args` (those after the tag) in a session over a connection
 * already open; returns the tag its reports carry.
 */
export type SessionStarter = (args: readonly string[]) => { tag: string; child: SshProcess };

/**
 * Spawns ssh running the remote pull script for `source`: the file from its start, or from
 * `resumeFrom.bytes` when its first bytes hash the same. With `'auto'` the remote side picks
 * among the formats this side can decompress; a fixed format runs at its level. With `starter`
 * the session rides a connection already open instead.
 */
export async function startPullSession(
  source: Target,
  options: PullOptions,
  algorithm: ChecksumResult['algorithm'],
  starter?: SessionStarter,
): Promise<PullSession> {
  const resume = algorithm !== 'none' ? options.resumeFrom : undefined;
  const fixed = options.compress === 'auto' ? undefined : options.compress;
  const compress =
    options.compress === 'auto' ? `auto:${localCompressions().join(',')}` : (fixed ?? '');
  const level = fixed && (options.compressLevel ?? DEFAULT_COMPRESSION_LEVEL[fixed]);
  const args = [
    'pull',
    source.path,
    algorithm,
    compress,
    String(level ?? ''),
    String(resume?.bytes ?? 0),
    resume ? resume.hash.copy().digest('hex') : '',
  ];
  const { tag, child } = starter ? starter(args) : await spawnPullSsh(source, options, args);
  const reports = new ReportReader(tag, child.stderr);
  void child.then(() => reports.end());
  return { tag, child, stdout: child.stdout!, reports };
}

async function spawnPullSsh(
  source: Target,
  options: PullOptions,
  args: readonly string[],
): Promise<{ tag: string; child: SshProcess }> {
  const extra = await Promise.all([
    fastCipherOptions(source, options),
    keepAliveOptions(source, options, stallTimeoutOf(options)),
    sessionOptions(source, options),
  ]);
  const tag = newReportTag();
  const command = buildRemoteCommand([tag, ...args]);
  const child = spawnSsh(buildSshInvocation(source, options, extra.flat(), command), {
    input: SCRIPT_INPUT,
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
  });
  return { tag, child };
}

/**
 * The verdict once the data has ended: throws unless ssh exited 0 and the remote count and
 * digest of the bytes it read equal `local`, those that arrived. `noise` is what stdout held
 * instead of a header, if it had none. A count of "-" (a file that changed while it was read,
 * see the remote pull) leaves the digest alone to decide; without a digest, it never passes.
 */
export async function verifyPull(
  session: PullSession,
  local: ChecksumResult,
  context: ErrorContext,
  noise: string,
): Promise<void> {
  const exit = await session.child;
  session.reports.end();
  if (exit.exitCode !== 0) throw classifyFailure(exit, session.reports, context, noise);
  const sum = session.reports.reports.find((report) => report.word === 'sum');
  if (!sum) throw new ConnectionError('the remote side ended without a checksum report', context);
  const [remoteBytes = '', remoteDigest = ''] = sum.fields;
  const { bytes, digest } = local;
  const counted = remoteBytes === '-' && remoteDigest !== '' ? String(bytes) : remoteBytes;
  if (counted !== String(bytes) || remoteDigest !== digest) {
    throw new VerificationError(
      `verification failed: remote read ${remoteBytes} bytes ${remoteDigest || '-'}, ` +
        `received ${bytes} bytes ${digest || '-'}`,
      { bytes: Number(remoteBytes), digest: remoteDigest },
      { bytes, digest },
      context,
    );
  }
}

/**
 * The cause to report for `error`, a local stage failing (gunzip on an empty stream, say): often
 * only the echo of a remote failure, so if ssh ends with a remote report soon, that report.
 */
export async function causeOf(
  error: Error,
  session: PullSession,
  context: ErrorContext,
  noise: string,
): Promise<Error> {
  if (error instanceof SshStreamError) return error;
  const exit = await new Promise<SshProcessResult | undefined>((resolve) => {
    const grace = setTimeout(() => resolve(undefined), REMOTE_REPORT_GRACE_MS);
    void session.child.then((result) => {
      clearTimeout(grace);
      resolve(result);
    });
  });
  if (!exit) return error;
  session.reports.end();
  return exit.exitCode !== 0 && session.reports.error
    ? classifyFailure(exit, session.reports, context, noise)
    : error;
}
