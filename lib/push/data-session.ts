import type { ControlConnection } from '../ssh/control-connection.js';
import type { ErrorContext } from '../util/errors.js';
import { classifyFailure } from '../ssh/failure.js';
import { ReportReader } from '../remote/reports.js';
import type { SshProcess } from '../ssh/command.js';

/** A session of the remote script that carries a push's bytes into the temporary file. */
export interface DataSession {
  readonly process: SshProcess;
  /** Resolves when the session has exited with 0; rejects with why it failed otherwise. */
  readonly done: Promise<void>;
}

type SessionStdin = Parameters<ControlConnection['spawnSession']>[1]['stdin'];

/**
 * Starts `push-data` (or `operation`, such as `push-range`) over the connection. Its stdin is a
 * pipe (the script, then our "go" line and the bytes) or a descriptor of the input file that
 * ssh reads itself. `socket`: the extra connection it rides (ExtraConnections), else the master.
 */
export function startDataSession(
  control: ControlConnection,
  args: readonly string[],
  stdin: SessionStdin,
  context: ErrorContext,
  operation = 'push-data',
  socket?: string,
): DataSession {
  const process = control.spawnSession(
    [operation, ...args],
    { stdin, stdout: 'ignore', stderr: 'pipe', buffer: false },
    socket,
  );
  const stderr = new ReportReader(control.tag, process.stderr);
  const done = process.then((exit): void => {
    if (exit.exitCode !== 0) throw classifyFailure(exit, stderr, context);
  });
  done.catch(() => {});
  return { process, done };
}
