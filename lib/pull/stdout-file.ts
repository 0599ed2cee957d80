import { constants, fstatSync, readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { parseTarget } from '../ssh/target.js';
import { abortErrorFor } from '../util/abort.js';
import { descriptorOffset } from '../util/descriptor-offset.js';
import type { ErrorContext } from '../util/errors.js';
import { hashGrowingFile } from '../util/hash-range.js';
import { verifiedResult } from '../util/result.js';
import { landsDirectly, mayUseRanges } from './choose-ranges.js';
import type { PullOptions, PullResult } from './options.js';
import { controlCarrier, openPullControl, type PullControl } from './pull-control.js';
import type { SessionStarter } from './pull-session.js';
import type { Landing } from './range-direct.js';
import { verifyLanded } from './pull-ranges.js';
import {
  refusedDirect,
  transferRanges,
  type ByteMeter,
  type RangedPull,
} from './range-transfer.js';

// The file open as this process's stdout, opened anew (Linux): a description of its own.
const STDOUT_PATH = '/proc/self/fd/1';

/** Stdout redirected to a regular file (`> FILE`, `>> FILE`) that a pull may hand to ssh. */
export interface StdoutFile {
  /** The same file, read and written at positions: for the hash and for checkLocalWrite. */
  readonly file: FileHandle;
  /** Where the pulled bytes start in it: its end, where stdout's writes go now. */
  readonly origin: number;
}

/**
 * Stdout as a file that ssh can write a pull into itself, where this system tells enough
 * (Linux's /proc): a regular file this process can open again to read, written at its end
 * (`>` or `>>`; `1<> FILE` writes over bytes, which the hash could not tell from ssh's).
 * Undefined otherwise: the pull then goes through node, as to a pipe.
 */
export async function openStdoutFile(): Promise<StdoutFile | undefined> {
  try {
    if (!fstatSync(1).isFile()) return undefined;
    const position = descriptorOffset(1);
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))?.[1];
    const append = (parseInt(flags ?? '0', 8) & constants.O_APPEND) !== 0;
    const file = await open(STDOUT_PATH, 'r+');
    const { size } = await file.stat();
    if (append || position === size) return { file, origin: size };
    await file.close();
  } catch {
    // Not a file this process can open again: through node.
  }
  return undefined;
}

/**
 * Pulls `source` into the file open as stdout (see openStdoutFile). A regular remote file big
 * enough for it (see landsDirectly) is written there by ssh itself, as one direct range: a
 * third less CPU than through node's pipe. The bytes are hashed as they land and must equal
 * the remote count and digest, as through node. Anything else goes through node after all:
 * `throughNode` is handed the control connection to ride (no second login).
 */
export async function pullToStdoutFile(
  source: string,
  out: StdoutFile,
  options: PullOptions,
  meter: () => ByteMeter | undefined,
  throughNode: (starter: SessionStarter | undefined) => Promise<number>,
): Promise<PullResult | number> {
  if (!mayUseRanges(options)) return throughNode(undefined);
  const started = performance.now();
  const target = parseTarget(source, 'pull');
  const context = { operation: 'pull', target: target.display };
  const algorithm = options.checksum ?? 'md5';
  // One lane: what lands in stdout's file is one range (no connections, no round trip timed).
  const control = await openPullControl(target, options, algorithm, context, false);
  try {
    if (landsDirectly(control, 1)) {
      const pull: RangedPull = {
        source: target,
        output: STDOUT_PATH,
        spans: [{ start: 0, end: control.size! }],
        lanes: 1,
        options,
        resume: false,
        started,
        meter: meter(),
        direct: true,
      };
      const landed = await landInStdout(control, pull, out, context).catch((error: unknown) => {
        // The server allows one session (the control's): it carries the file through node.
        if (refusedDirect(pull, error) && control.connection.alive) return undefined;
        throw error;
      });
      if (landed) return landed;
    }
    return await throughNode(controlCarrier(control));
  } finally {
    await control.connection.close();
  }
}

// ssh's stdout is this process's own: its writes move stdout's offset as node's would have.
async function landInStdout(
  control: PullControl,
  pull: RangedPull,
  out: StdoutFile,
  context: ErrorContext,
): Promise<PullResult> {
  const { options } = pull;
  const size = control.size!;
  const algorithm = options.checksum ?? 'md5';
  const task = { span: pull.spans[0]!, from: 0, written: 0 };
  // The file stays open: the caller closes it.
  const landing: Landing = {
    fd: 1,
    origin: out.origin,
    file: out.file,
    close: () => Promise.resolve(),
  };
  pull.meter?.setTotal(size);
  let failed = false;
  const stopped = () => failed || Boolean(options.signal?.aborted);
  try {
    const transferred = transferRanges(
      control,
      [task],
      out.file,
      () => Promise.resolve(landing),
      pull,
      context,
    );
    transferred.catch(() => (failed = true));
    const following = hashGrowingFile(STDOUT_PATH, algorithm, transferred, stopped, out.origin);
    following.catch(() => {});
    const digest = await transferred;
    pull.meter?.done();
    const local = await following;
    if (options.signal?.aborted) throw abortErrorFor(options.signal, context);
    verifyLanded(size, digest, local, context);
    return verifiedResult({
      target: pull.source.display,
      bytes: size,
      algorithm,
      digest,
      started: pull.started,
      compress: undefined,
      resumed: 0,
    });
  } catch (error) {
    pull.meter?.done();
    if (!refusedDirect(pull, error)) control.connection.kill();
    throw options.signal?.aborted ? abortErrorFor(options.signal, context) : error;
  }
}
