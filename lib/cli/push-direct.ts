import { readSync } from 'node:fs';
import { AUTO_SAMPLE_BYTES, chooseCompression } from '../../transforms/compress.js';
import { createProgress } from '../../transforms/progress.js';
import { compressionOf, transferOptionsOf, type PushFlags } from './options.js';
import type { progressMode } from './report.js';
import { descriptorOffset } from '../push/direct-input.js';
import type { PushResult } from '../push/options.js';
import { pushDirect } from '../push/push-with-retries.js';

/** Below this size, starting the data session early (pumping through node) wins. */
const DIRECT_MIN_BYTES = 64 << 20;

/**
 * Where ssh can read stdin itself, its current offset: a big regular file, sent as it is
 * (compression and rate limits need the bytes to pass through node; --compress auto sends
 * data that does not compress as it is), on a system that tells descriptor offsets.
 */
export function directStart(size: number, flags: PushFlags): number | undefined {
  if (size < DIRECT_MIN_BYTES || flags.limitRate) return undefined;
  const start = descriptorOffset(0);
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

/** ssh reads the file on stdin itself; progress follows the descriptor's offset as ssh reads. */
export async function pushFileDirect(
  target: string,
  flags: PushFlags,
  signal: AbortSignal,
  how: { size: number; start: number; mode: ReturnType<typeof progressMode> },
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
  const timer =
    progress &&
    setInterval(() => progress.advanceTo((descriptorOffset(0) ?? how.start) - how.start), 200);
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
        signal,
      },
      (stream) => {
        stream.once('connected', connected);
        stream.once('verify', () => {
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
