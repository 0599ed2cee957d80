import { fstatSync } from 'node:fs';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createProgress } from '../transforms/progress.js';
import { compressionOf, sshOptionsOf, type TransferFlags } from './cli-options.js';
import { LocalIOError, SshStreamError, UsageError } from './errors.js';
import { createPushStream, type PushResult } from './push.js';
import { printResult, progressMode } from './cli-report.js';

/** Flags of `sshstream push`. */
export interface PushFlags extends TransferFlags {
  mode?: string;
  mkdir?: boolean;
}

/** `sshstream push`: stdin -> the remote file, verified and committed atomically. */
export async function runPush(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
): Promise<void> {
  const context = { operation: 'push', target };
  if (process.stdin.isTTY) {
    throw new UsageError(
      'stdin is a terminal: pipe the data in, e.g. cat FILE | sshstream push HOST:PATH',
      context,
    );
  }
  const push = createPushStream(target, {
    ...sshOptionsOf(flags),
    checksum: flags.checksum,
    compress: compressionOf(flags),
    compressLevel: flags.compressLevel,
    mode: flags.mode,
    mkdir: flags.mkdir,
    limitRate: flags.limitRate,
    signal,
  });
  const stages: Transform[] = [];
  const mode = progressMode(flags);
  const progress = mode
    ? createProgress({ output: process.stderr, label: `push ${target}`, mode, ...sizeOfStdin() })
    : undefined;
  if (progress) {
    stages.push(progress);
    push.once('verify', () => progress.setPhase(`verifying ${flags.checksum} on the remote side…`));
  }
  try {
    await pipeline([process.stdin, ...stages, push]);
  } catch (error) {
    // The push stream's own error is the cause; otherwise reading stdin failed.
    const reason = await push.result.then(
      () => error,
      (pushError: unknown) => pushError,
    );
    if (reason instanceof SshStreamError) throw reason;
    throw new LocalIOError(`cannot read input: ${(reason as Error).message}`, {
      ...context,
      cause: reason,
    });
  } finally {
    progress?.done();
  }
  printResult(await push.result, flags, 'pushed');
}

// A regular file on stdin has a size, so progress can show percent and ETA.
function sizeOfStdin(): { total?: number } {
  try {
    const stat = fstatSync(0);
    return stat.isFile() ? { total: stat.size } : {};
  } catch {
    return {};
  }
}

export type { PushResult };
