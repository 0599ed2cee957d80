export { createPushStream } from './push/create.js';
export { PushStream, type PushStreamEvents } from './push/push-stream.js';
export type { PushOptions, PushResult } from './push/options.js';
export { FanOutPushStream, type FanOutEvents } from './push/fan-out.js';
export type { FanOutOptions } from './push/fan-out-options.js';
export { FanOutError, type TargetOutcome } from './push/fan-out-outcome.js';
export { createPullStream, type PullOptions, type PullResult } from './pull/pull.js';
export { PullStream, type PullStreamEvents } from './pull/pull-stream.js';
export {
  push,
  pushDirect,
  type PushInput,
  type PushWithRetriesOptions,
} from './push/push-with-retries.js';
export { pull, type PullWithRetriesOptions } from './pull/pull-with-retries.js';
export type { RetryOptions } from './util/retry.js';
export type { TransferResult } from './util/result.js';
export type { DirectInput } from './push/direct-input.js';
export { createExecStream, execRemote, RemoteCommandError, type ExecOptions } from './ssh/exec.js';
export {
  SshStreamError,
  UsageError,
  ConnectionError,
  VerificationError,
  RemoteIOError,
  LocalIOError,
  AbortError,
  EXIT_CODES,
  exitCodeOf,
  type ErrorCode,
  type ErrorContext,
} from './util/errors.js';
export { parseTarget, type Target } from './ssh/target.js';
export {
  DEFAULT_STALL_TIMEOUT_MS,
  StalledError,
  type StallOptions,
} from './util/stall-watchdog.js';
export type { SshOptions, SshDestination } from './ssh/command.js';
export type { AnyListener, EventMap, Listener, OtherEvent } from './util/stream-events.js';
export * as transforms from '../transforms/index.js';
