import { readSync } from 'node:fs';
import { AUTO_SAMPLE_BYTES, chooseCompression } from '../../transforms/compress.js';
import { createProgress } from '../../transforms/progress.js';
import { compressionOf, transferOptionsOf, type PushFlags } from './options.js';
import type { progressMode } from './report.js';
import { descriptorOffset } from '../util/descriptor-offset.js';
import type { PushResult } from '../push/options.js';
import type { PushStream } from '../push/push-stream.js';
import { pushDirect } from '../push/push-with-retries.js';

/** Below this size, starting the data session early (pumping through node) wins. */
const DIRECT_MIN_BYTES = 64 << 20;

/**
 * Where the push may read stdin by offset (ssh itself on one channel, or node in parallel
 * ranges, see --streams), the offset to start from: a big regular file, or any regular file
 * with --streams 2 or more, sent as it is (compression and rate limits need the bytes to pass
 * through node; --compress auto sends data that does not compress as it is), on a system that
 * tells descriptor offsets. A resumable push starts from 0 and goes in ranges, which is how it
 * resumes; with --streams 1 it keeps the single-stream resume.
 */
export function directStart(
  size: number,
  flags: PushFlags,
  resumable: boolean,
): number | undefined {
  const forced = typeof flags.streams === 'number' && flags.streams > 1;
  if ((size < DIRECT_MIN_BYTES && !forced) || flags.limitRate) return undefined;
  if (resumable && flags.streams === 1) return undefined;
  const start = resumable ? 0 : descriptorOffset(0);
  const compress = compressionOf(flags);
  if (start === undefined || compress === undefined) return start;
  return compress === 'auto' && !compressesAt(0, start) ? start : undefined;
}

// The sample --compress auto decides on, read with pread (stdin's offset stays for ssh).
function compressesAt(fd: number, start: number): boolean {
  const sample = Buffer.alloc(AUTO_SAMPLE_BYTES);
  const length = readSync(fd, sample, 0, sample.length, start);
  return chooseCompression(sample.subarray(0, length), ['gzip']) !== undefined;
}

/**
 * The file on stdin read by offset: by ssh itself, or in parallel ranges; progress follows
 * what the delivery reports sent (ssh's offset in the file, or what the ranges carried).
 */
export async function pushFileDirect(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
  how: { size: number; start: number; mode: ReturnType<typeof progressMode>; resume: boolean },
): Promise<PushResult> {
  let connected = (): void => {};
  const after = new Promise<void>((resolve) => (connected = resolve));
  const progress = how.mode
    ? createProgress({
        output: process.stderr,
        label: `push ${target}`,
        mode: how.mode,
        total: how.size - how.start,
        after,
      })
    : undefined;
  let stream: PushStream | undefined;
  const timer = progress && setInterval(() => progress.advanceTo(stream?.moved ?? 0), 200);
  try {
    return await pushDirect(
      { fd: 0, start: how.start },
      target,
      {
        ...transferOptionsOf(flags),
        compress: undefined, // none, or auto that found the data incompressible
        mode: flags.mode,
        mkdir: flags.mkdir,
        inplace: flags.inplace,
        resume: how.resume,
        signal,
      },
      (watched) => {
        stream = watched;
        watched.once('connected', connected);
        watched.once('verify', () => {
          progress?.advanceTo(how.size - how.start);
          progress?.setPhase(`verifying ${flags.checksum} on the remote side…`);
        });
      },
    );
  } finally {
    clearInterval(timer);
    progress?.done();
  }
}
