import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LocalIOError, type ErrorContext } from '../util/errors.js';

/** A command whose stdout is a push's input (`sshstream push HOST:PATH -- COMMAND ARGS...`). */
export interface Producer {
  /** The command's stdout. */
  readonly output: Readable;
  /** Resolves once the command exited 0; rejects with LocalIOError (exit 5) otherwise. */
  succeeded(): Promise<void>;
  /** Ends the command (SIGTERM) if it still runs: the push failed or was interrupted. */
  stop(): void;
}

/**
 * Starts `argv` without a shell: stdin and stderr are ours, stdout is piped. Through a pipe a
 * producer that dies midway looks like a short input; run by us, its exit status tells.
 * Resolves once it runs; a command that cannot start rejects (exit 5).
 */
export async function startProducer(
  argv: readonly string[],
  context: ErrorContext,
): Promise<Producer> {
  const [file, ...args] = argv;
  const name = JSON.stringify(argv.join(' '));
  const child: ChildProcess = spawn(file!, args, { stdio: ['inherit', 'pipe', 'inherit'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(
        new LocalIOError(`cannot run the input command ${name}: ${error.message}`, {
          ...context,
          cause: error,
        }),
      ),
    );
  });
  return {
    output: child.stdout!,
    async succeeded() {
      const { code, signal } = await exited;
      if (code === 0) return;
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      throw new LocalIOError(`the input command ${name} ${how}; nothing committed`, context);
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
