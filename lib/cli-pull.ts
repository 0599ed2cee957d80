import type { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createProgress } from '../transforms/progress.js';
import { compressionOf, sshOptionsOf, type TransferFlags } from './cli-options.js';
import { printResult, progressMode } from './cli-report.js';
import { LocalIOError, SshStreamError } from './errors.js';
import { writeFileAtomic } from './local-file.js';
import { createPullStream } from './pull.js';

/** Exit status when the reader of stdout went away early (128 + SIGPIPE, as `cat` gives). */
export const EXIT_READER_CLOSED = 141;

/** `sshstream pull`: the remote file -> stdout, or atomically into a local file. */
export async function runPull(
  source: string,
  file: string | undefined,
  flags: TransferFlags,
  signal: AbortSignal,
): Promise<number> {
  const pull = createPullStream(source, {
    ...sshOptionsOf(flags),
    checksum: flags.checksum,
    compress: compressionOf(flags),
    limitRate: flags.limitRate,
    signal,
  });
  const mode = progressMode(flags);
  const progress = mode
    ? createProgress({ output: process.stderr, label: `pull ${source}`, mode })
    : undefined;
  if (progress)
    pull.once('size', (size: number | undefined) => size !== undefined && progress.setTotal(size));
  const stages: Transform[] = progress ? [progress] : [];
  const context = { operation: 'pull', target: source };
  let readerClosed = false;
  try {
    if (file === undefined) {
      const stdout: Writable = process.stdout;
      stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') readerClosed = true;
      });
      await pipeline([pull, ...stages, stdout]);
    } else {
      await writeFileAtomic(pull, file, stages);
    }
  } catch (error) {
    progress?.done();
    if (readerClosed || (error as NodeJS.ErrnoException).code === 'EPIPE')
      return EXIT_READER_CLOSED;
    const own = await pull.result.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (own instanceof SshStreamError) throw own;
    if (error instanceof SshStreamError) throw error;
    throw new LocalIOError(`cannot write output: ${(error as Error).message}`, {
      ...context,
      cause: error,
    });
  }
  progress?.done();
  printResult(await pull.result, flags, 'pulled');
  return 0;
}
