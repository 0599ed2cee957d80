import type { FileHandle } from 'node:fs/promises';
import { readHeader } from '../remote/header.js';
import { ReportReader } from '../remote/reports.js';
import { classifyFailure } from '../ssh/failure.js';
import {
  LocalIOError,
  RemoteIOError,
  VerificationError,
  type ErrorContext,
} from '../util/errors.js';
import { debug } from '../util/debug.js';
import type { SessionStarter } from './pull-session.js';
import type { ByteSpan } from './range-plan.js';

/**
 * One range of a pull in ranges: `span` is its place in the file; its bytes from `span.start`
 * up to `from` (a multiple of 1 MiB) are already in the local file (an earlier run left them),
 * and `written` counts those written from `from` on.
 */
export interface RangeTask {
  readonly span: ByteSpan;
  readonly from: number;
  written: number;
}

/**
 * Fetches `task`'s bytes from `from` to the end of its span over a session of its own and
 * writes each at its offset in `file`; resolves with the remote file's stamp taken after the
 * read (see pull_range in remote.sh). Rejects when ssh or the remote side fails, when the local
 * write fails, and when the range comes short or long (the remote file changed).
 */
export async function fetchRange(
  start: SessionStarter,
  path: string,
  task: RangeTask,
  file: FileHandle,
  context: ErrorContext,
  moved: (bytes: number) => void,
): Promise<string> {
  const length = task.span.end - task.from;
  const { tag, child } = start(['pull-range', path, String(task.from), String(length)]);
  const reports = new ReportReader(tag, child.stderr);
  void child.then(() => reports.end());
  const stdout = child.stdout!;
  const header = await readHeader(stdout, tag, context);
  debug(`range ${task.from}-${task.span.end}: data starts`);
  if (header.fields) {
    for await (const chunk of stdout as AsyncIterable<Buffer>) {
      if (task.written + chunk.length > length) throw rangeChanged(task, length, context);
      await writeAt(file, chunk, task.from + task.written, context);
      task.written += chunk.length;
      moved(chunk.length);
    }
  }
  const exit = await child;
  reports.end();
  debug(`range ${task.from}-${task.span.end}: ended, ${task.written} bytes`);
  const noise = header.fields ? '' : header.noise;
  if (exit.exitCode !== 0) throw classifyFailure(exit, reports, context, noise);
  if (!header.fields) {
    throw new RemoteIOError(`no data from the remote side${noise ? `: ${noise}` : ''}`, context);
  }
  if (task.written !== length) throw rangeChanged(task, length, context);
  return reports.reports.find((report) => report.word === 'stamp')?.fields[0] ?? '';
}

async function writeAt(
  file: FileHandle,
  chunk: Buffer,
  position: number,
  context: ErrorContext,
): Promise<void> {
  try {
    for (let done = 0; done < chunk.length;) {
      const { bytesWritten } = await file.write(chunk, done, chunk.length - done, position + done);
      done += bytesWritten;
    }
  } catch (error) {
    throw new LocalIOError(`cannot write output: ${(error as Error).message}`, {
      ...context,
      cause: error,
    });
  }
}

/** The error of a range that came short or long: the remote file changed while it was read. */
export function rangeChanged(
  task: RangeTask,
  length: number,
  context: ErrorContext,
): VerificationError {
  const { span, from, written } = task;
  return new VerificationError(
    `verification failed: bytes ${from}-${span.end} of the remote file came ` +
      `${written < length ? 'short' : 'long'} (the file changed during the transfer?); nothing committed`,
    { bytes: length, digest: '' },
    { bytes: written, digest: '' },
    context,
  );
}
