export { createPushStream } from './create-push.js';
export { PushStream, type PushOptions, type PushResult } from './push.js';
export { FanOutPushStream, type FanOutOptions } from './fan-out.js';
export { FanOutError, type TargetOutcome } from './fan-out-outcome.js';
export { createPullStream, PullStream, type PullOptions, type PullResult } from './pull.js';
export {
  push,
  pull,
  pushDirect,
  type PushInput,
  type PushWithRetriesOptions,
  type PullWithRetriesOptions,
} from './transfer.js';
export type { RetryOptions } from './retry.js';
export type { TransferResult } from './result.js';
export type { DirectInput } from './direct-input.js';
export { createExecStream, execRemote, RemoteCommandError, type ExecOptions } from './exec.js';
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
} from './errors.js';
export { parseTarget, type Target } from './target.js';
export { DEFAULT_STALL_TIMEOUT_MS, StalledError, type StallOptions } from './stall-watchdog.js';
export type { SshOptions, SshDestination } from './ssh.js';
export * as transforms from '../transforms/index.js';
export { startSandbox, type Sandbox, type SandboxOptions, type SandboxServer } from './sandbox.js';
