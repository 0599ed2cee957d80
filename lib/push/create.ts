import { FanOutPushStream } from './fan-out.js';
import type { FanOutOptions } from './fan-out-options.js';
import { PushStream } from './push-stream.js';
import type { PushOptions } from './options.js';

/**
 * A Writable that streams everything written to it into `target` (`[user@]host:path`) through
 * the system ssh, hashed on both ends. The stream finishes only after the remote file is
 * verified and atomically renamed into place; on any failure the destination is untouched.
 * Given several targets, the input is read once and sent to all at the same time (see
 * FanOutPushStream); its `result` resolves with one outcome per target.
 */
export function createPushStream(target: string, options?: PushOptions): PushStream;
export function createPushStream(
  targets: readonly string[],
  options?: FanOutOptions,
): FanOutPushStream;
export function createPushStream(
  target: string | readonly string[],
  options?: FanOutOptions,
): PushStream | FanOutPushStream {
  return typeof target === 'string'
    ? new PushStream(target, options)
    : new FanOutPushStream(target, options);
}
