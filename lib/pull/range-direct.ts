import { open, stat, type FileHandle } from 'node:fs/promises';
import { ReportReader } from '../remote/reports.js';
import { classifyFailure } from '../ssh/failure.js';
import { debug } from '../util/debug.js';
import { descriptorOffset } from '../util/descriptor-offset.js';
import { LocalIOError, type ErrorContext } from '../util/errors.js';
import type { DirectStarter } from './pull-control.js';
import { rangeChanged, type RangeTask } from './range-session.js';

// What checkLocalWrite writes at most: more than the rest of a page, which a full disk may take.
const PROBE_BYTES = 64 * 1024;

// How often the offset ssh has written to is read, for progress and the stall watchdog.
const POLL_MS = 100;

// The reads that move a descriptor's offset to where its range starts (see openAt).
const SKIP_CHUNK = 1 << 20;

/**
 * Where ssh writes a range: `fd` is its stdout, whose offset (shared with ssh) is where the
 * range's next byte goes; `origin` is the local offset of the remote file's byte 0 (0 in a
 * temporary file); `file` reads and writes the same file at positions (see checkLocalWrite).
 */
export interface Landing {
  readonly fd: number;
  readonly origin: number;
  readonly file: FileHandle;
  close(): Promise<void>;
}

/** Gives the {@link Landing} of a range, its descriptor's offset at the range's next byte. */
export type LandingFor = (task: RangeTask) => Promise<Landing>;

/**
 * Fetches `task` like fetchRange, but ssh writes the bytes into the file itself: its stdout is
 * the descriptor `landAt` gives. Writing to a pipe cost ssh about four times the CPU of writing
 * to a file (a profile shows it copying memory while the pipe is full), and node copied every
 * byte once more. Only for a login shell that prints nothing on stdout
 * (ControlConnection.quietLogin): the range would start with it. How far the descriptor's
 * offset got is the progress (see canLandRanges). `running()` is called once the remote script
 * runs in the session (the server did not refuse it one).
 */
export async function landRange(
  start: DirectStarter,
  path: string,
  task: RangeTask,
  landAt: LandingFor,
  context: ErrorContext,
  moved: (bytes: number) => void,
  running: () => void,
): Promise<string> {
  const length = task.span.end - task.from;
  const landing = await landAt(task);
  try {
    const { tag, child } = start(
      ['pull-range', path, String(task.from), String(length), 'direct'],
      landing.fd,
    );
    const reports = new ReportReader(tag, child.stderr);
    void child.then(() => reports.end());
    void reports.next(['range']).then((report) => report && running());
    const landed = async () => {
      const reached = descriptorOffset(landing.fd) ?? (await landing.file.stat()).size;
      const now = Math.max(0, reached - landing.origin - task.from);
      if (now > task.written) moved(now - task.written);
      task.written = now;
    };
    const poll = setInterval(() => void landed().catch(() => {}), POLL_MS);
    const exit = await child.finally(() => clearInterval(poll));
    await landed();
    reports.end();
    debug(`range ${task.from}-${task.span.end}: ssh wrote ${task.written} bytes into the file`);
    if (task.written < length) await checkLocalWrite(landing, task, context);
    if (exit.exitCode !== 0) throw classifyFailure(exit, reports, context, '');
    if (task.written !== length) throw rangeChanged(task, length, context);
    return reports.reports.find((report) => report.word === 'stamp')?.fields[0] ?? '';
  } finally {
    await landing.close();
  }
}

/** Ranges landing in the temporary file at `temporary`: a descriptor of it for each. */
export function landingIn(temporary: string, context: ErrorContext): LandingFor {
  return async (task) => {
    const file = await openAt(temporary, task.from).catch((error: Error) => {
      throw new LocalIOError(`cannot write output: ${error.message}`, { ...context, cause: error });
    });
    return { fd: file.fd, origin: 0, file, close: () => file.close() };
  };
}

/**
 * Whether ranges side by side can be written by ssh: only where a descriptor's offset can be
 * read (Linux's /proc/self/fdinfo), since it is their only progress. One range that ends the
 * file needs nothing of the kind: the file's size is its progress.
 */
export function canLandRanges(fd: number): boolean {
  return descriptorOffset(fd) !== undefined;
}

// A descriptor of `temporary` whose own offset is `from`, for ssh's writes to land there in
// order. Node has no lseek: a file that ends at `from` is opened for appending; otherwise
// reading the bytes before `from` moves the offset there (holes read as zeros, at memory speed).
async function openAt(temporary: string, from: number): Promise<FileHandle> {
  if ((await stat(temporary)).size === from) return open(temporary, 'a');
  const file = await open(temporary, 'r+');
  try {
    const buffer = Buffer.allocUnsafe(SKIP_CHUNK);
    for (let left = from; left > 0;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(SKIP_CHUNK, left), null);
      if (bytesRead === 0) throw new Error(`the temporary file ends before byte ${from}`);
      left -= bytesRead;
    }
    return file;
  } catch (error) {
    await file.close();
    throw error;
  }
}

// ssh says nothing when it cannot write its stdout (a full disk): it only stops, and the remote
// side fails on the closed channel. A range that came short is therefore checked here: if the
// file takes no more bytes where the range stopped, that is the cause (ENOSPC, EDQUOT, EFBIG), a
// local one. The check writes only where this range's own bytes go, and puts back what was there.
async function checkLocalWrite(
  { file, origin }: Landing,
  task: RangeTask,
  context: ErrorContext,
): Promise<void> {
  const at = origin + task.from + task.written;
  const { size } = await file.stat();
  const probe = Buffer.alloc(Math.min(PROBE_BYTES, origin + task.span.end - at));
  const before = Buffer.alloc(Math.max(0, Math.min(probe.length, size - at)));
  await file.read(before, 0, before.length, at);
  try {
    // (A descriptor opened for appending writes at the end, which is `at` then.)
    await file.write(probe, 0, probe.length, at);
  } catch (error) {
    throw new LocalIOError(`cannot write output: ${(error as Error).message}`, {
      ...context,
      cause: error,
    });
  } finally {
    await file.write(before, 0, before.length, at).catch(() => {});
    await file.truncate(size).catch(() => {});
  }
}
