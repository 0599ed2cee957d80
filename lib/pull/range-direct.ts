import { open, type FileHandle } from 'node:fs/promises';
import { ReportReader } from '../remote/reports.js';
import { classifyFailure } from '../ssh/failure.js';
import { debug } from '../util/debug.js';
import { LocalIOError, type ErrorContext } from '../util/errors.js';
import type { DirectStarter } from './pull-control.js';
import { rangeChanged, type RangeTask } from './range-session.js';

// What checkLocalWrite appends: more than the rest of a page, which a full disk may still take.
const PROBE_BYTES = 64 * 1024;

// How often the size of the file ssh writes is read for progress and the stall watchdog.
const POLL_MS = 100;

/**
 * Fetches `task` like fetchRange, but ssh writes the bytes into `temporary` itself: its stdout is
 * a descriptor of the file opened for appending, which must hold exactly the bytes before
 * `task.from`. Writing to a pipe cost ssh about four times the CPU of writing to a file (its
 * channel buffer is copied around while the pipe is full), and node copied every byte once more.
 * Only for a login shell that prints nothing on stdout (ControlConnection.quietLogin): the file
 * would start with it. The file's growth is the progress. `running()` is called once the remote
 * script runs in the session (the server did not refuse it one).
 */
export async function landRange(
  start: DirectStarter,
  path: string,
  task: RangeTask,
  temporary: string,
  context: ErrorContext,
  moved: (bytes: number) => void,
  running: () => void,
): Promise<string> {
  const length = task.span.end - task.from;
  const file = await open(temporary, 'a').catch((error: Error) => {
    throw new LocalIOError(`cannot write output: ${error.message}`, { ...context, cause: error });
  });
  try {
    const { tag, child } = start(
      ['pull-range', path, String(task.from), String(length), 'direct'],
      file.fd,
    );
    const reports = new ReportReader(tag, child.stderr);
    void child.then(() => reports.end());
    void reports.next(['range']).then((report) => report && running());
    const landed = async () => {
      const size = (await file.stat()).size;
      const now = Math.max(0, size - task.from);
      if (now > task.written) moved(now - task.written);
      task.written = now;
    };
    const poll = setInterval(() => void landed().catch(() => {}), POLL_MS);
    const exit = await child.finally(() => clearInterval(poll));
    await landed();
    reports.end();
    debug(`range ${task.from}-${task.span.end}: ssh wrote ${task.written} bytes into the file`);
    if (task.written < length) await checkLocalWrite(file, context);
    if (exit.exitCode !== 0) throw classifyFailure(exit, reports, context, '');
    if (task.written !== length) throw rangeChanged(task, length, context);
    return reports.reports.find((report) => report.word === 'stamp')?.fields[0] ?? '';
  } finally {
    await file.close();
  }
}

// ssh says nothing when it cannot write its stdout (a full disk): it only stops, and the remote
// side fails on the closed channel. A range that came short is therefore checked here: if the
// file takes no more bytes, that is the cause (ENOSPC, EDQUOT, EFBIG), a local one. What the
// check wrote is cut off again.
async function checkLocalWrite(file: FileHandle, context: ErrorContext): Promise<void> {
  const { size } = await file.stat();
  try {
    await file.write(Buffer.alloc(PROBE_BYTES), 0, PROBE_BYTES, size);
  } catch (error) {
    throw new LocalIOError(`cannot write output: ${(error as Error).message}`, {
      ...context,
      cause: error,
    });
  } finally {
    await file.truncate(size).catch(() => {});
  }
}
