import { Duplex, PassThrough, pipeline } from 'node:stream';
import { abortErrorFor, destroyOnAbort } from '../util/abort.js';
import { ConnectionError, RemoteIOError, UsageError, type ErrorContext } from '../util/errors.js';
import { escapeControl } from '../util/escape.js';
import { bytesAfterHeader } from '../remote/header.js';
import { buildRemoteCommand, SCRIPT_INPUT } from '../remote/script.js';
import { newReportTag } from '../remote/report-tag.js';
import {
  buildSshInvocation,
  missingSshCommand,
  spawnSsh,
  type SshDestination,
  type SshOptions,
  type SshProcessResult,
} from './command.js';
import { isSafeHost } from './target.js';
import { killSsh } from './process-tree.js';

/** Options of a remote command: ssh options plus an AbortSignal that kills ssh. */
export interface ExecOptions extends SshOptions {
  signal?: AbortSignal | undefined;
}

/** A remote command that exited non-zero or was killed; `status` and `stderr` say how. */
export class RemoteCommandError extends RemoteIOError {
  readonly status: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: Buffer;
  constructor(
    status: number | undefined,
    signal: string | undefined,
    stderr: Buffer,
    context: ErrorContext,
  ) {
    const said = escapeControl(stderr.toString('utf8').trim().split('\n').at(-1) ?? '');
    super(
      `remote command ${signal ? `killed by ${signal}` : `exited with status ${status}`}${said ? `: ${said}` : ''}`,
      context,
    );
    this.status = status;
    this.signal = signal;
    this.stderr = stderr;
  }
}

/** Parses `host`, `user@host` or a destination object, refusing anything ssh could read as an option. */
function parseDestination(destination: string | SshDestination): SshDestination {
  if (typeof destination !== 'string') return destination;
  const at = destination.lastIndexOf('@');
  const user = at === -1 ? undefined : destination.slice(0, at);
  const host = destination.slice(at + 1).replace(/^\[(.*)\]$/, '$1');
  if (!isSafeHost(host) || (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(user))) {
    throw new UsageError(`refused destination ${JSON.stringify(destination)}`);
  }
  return { host, user };
}

// An argv runs through the shell-proof bootstrap, so no byte of it is parsed by the login
// shell, and its output starts after a tagged line; a string is the user's own remote shell
// command, sent as it is.
function remoteCommandOf(command: string | readonly string[]): {
  line: string;
  tag?: string;
  input?: string;
} {
  if (typeof command === 'string') return { line: command };
  if (command.length === 0) throw new UsageError('empty remote command');
  // `exec -c ...` would be an option of exec where sh is bash or ksh (and dash has no `exec --`).
  if (command[0]!.startsWith('-')) {
    throw new UsageError(`refused command ${JSON.stringify(command[0])}: begins with "-"`);
  }
  const tag = newReportTag();
  return { line: buildRemoteCommand([tag, 'exec', ...command]), tag, input: SCRIPT_INPUT };
}

/**
 * The exec primitive: a Duplex over `ssh destination command`. Writes go to the remote stdin,
 * the remote stdout is what you read. A non-zero exit makes the stream error with a
 * RemoteCommandError (status, signal, stderr); ssh's status 255 with a ConnectionError.
 * `command` as an array is run literally (no remote shell parsing); as a string it is a shell
 * command line for the remote login shell.
 */
export function createExecStream(
  destination: string | SshDestination,
  command: string | readonly string[],
  options: ExecOptions = {},
): Duplex {
  const dest = parseDestination(destination);
  const context = { operation: 'exec', target: dest.host };
  const remote = remoteCommandOf(command);
  const invocation = buildSshInvocation(dest, options, [], remote.line);
  const child = spawnSsh(invocation, {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  // ssh's stdin fails with EPIPE when the command stops reading (or never ran): not an uncaught
  // error; ssh's exit status says what happened.
  child.stdin?.on('error', () => {});
  if (remote.input !== undefined) child.stdin?.write(remote.input);
  // execa's readable() ends only once ssh has exited, so a failure is never mistaken for EOF;
  // the stage after it drops the header and turns the exit status into the stream's error.
  const output = new PassThrough();
  pipeline(
    child.readable(),
    async function* (stdout: AsyncIterable<Buffer>) {
      yield* remote.tag ? bytesAfterHeader(stdout, remote.tag, context) : stdout;
      const failure = failureOf(await child, context, options.signal);
      if (failure) throw failure;
    },
    output,
    () => {}, // an error of any stage reaches the reader through `output`
  );
  const duplex = Duplex.from({ writable: child.stdin!, readable: output });
  duplex.on('close', () => {
    if (child.exitCode === null || child.exitCode === undefined) killSsh(child);
  });
  destroyOnAbort(duplex, options.signal, context);
  return duplex;
}

/** Runs a remote command to completion; resolves with its output, rejects like createExecStream. */
export async function execRemote(
  destination: string | SshDestination,
  command: string | readonly string[],
  options: ExecOptions & { input?: Buffer | string } = {},
): Promise<{ stdout: Buffer; stderr: Buffer }> {
  const dest = parseDestination(destination);
  const context = { operation: 'exec', target: dest.host };
  const remote = remoteCommandOf(command);
  const invocation = buildSshInvocation(dest, options, [], remote.line);
  const result = await spawnSsh(invocation, {
    input: Buffer.concat([Buffer.from(remote.input ?? ''), Buffer.from(options.input ?? '')]),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  const failure = failureOf(result, context, options.signal);
  if (failure) throw failure;
  return {
    stdout: afterHeader(Buffer.from(result.stdout as Uint8Array), remote.tag),
    stderr: Buffer.from(result.stderr as Uint8Array),
  };
}

function failureOf(
  result: SshProcessResult,
  context: ErrorContext,
  signal?: AbortSignal,
): Error | null {
  // Aborting kills ssh; how ssh then exits (255, a signal) is the abort, not a lost connection.
  if (signal?.aborted) return abortErrorFor(signal, context);
  if (result.exitCode === 0) return null;
  const stderr = Buffer.from((result.stderr as Uint8Array | undefined) ?? []);
  const missing = missingSshCommand(
    result,
    escapeControl(stderr.toString('utf8').trim().split('\n').at(-1) ?? ''),
  );
  if (missing !== undefined) {
    return new ConnectionError(missing, context);
  }
  if (result.exitCode === 255) {
    const said = escapeControl(stderr.toString('utf8').trim().split('\n').at(-1) ?? '');
    return new ConnectionError(said || 'ssh exited with status 255', context);
  }
  return new RemoteCommandError(result.exitCode, result.signal, stderr, context);
}

// The output of an argv command starts after the line "<tag> start".
function afterHeader(stdout: Buffer, tag: string | undefined): Buffer {
  if (tag === undefined) return stdout;
  const at = stdout.indexOf(`${tag} start\n`);
  return at === -1 ? stdout : stdout.subarray(at + tag.length + ' start\n'.length);
}
