import type { Readable, Writable } from 'node:stream';
import { execa, type Options as ExecaOptions } from 'execa';
import { UsageError } from '../util/errors.js';
import { sshMallocEnv } from './malloc-env.js';
import { isSafeHost, isSafeUser } from './target.js';

/** How to run ssh: the options a user passes to `ssh` itself. */
export interface SshOptions {
  /** `-p PORT` */
  port?: number | undefined;
  /** `-i IDENTITY` */
  identity?: string | undefined;
  /** `-F CONFIG` */
  config?: string | undefined;
  /** `-o OPTION`, repeatable, e.g. `['Compression=no']` */
  options?: readonly string[] | undefined;
  /** `-J JUMP` */
  jump?: string | undefined;
  /**
   * Replaces `ssh`, like `GIT_SSH_COMMAND` / `RSYNC_RSH`: run by `sh -c` with ssh's arguments
   * appended, so it may hold options of its own. Default: `$SSHSTREAM_SSH`, else `ssh`.
   */
  sshCommand?: string | undefined;
}

/** Who to reach: a host (name, alias, IP) and optionally a login user. */
export interface SshDestination {
  host: string;
  user?: string | undefined;
}

/** The program and arguments that run `command` on the destination. */
export interface SshInvocation {
  file: string;
  args: string[];
}

const JUMP =
  /^([A-Za-z0-9_][A-Za-z0-9._-]*@)?(\[[0-9A-Fa-f:.%]+\]|[A-Za-z0-9_][A-Za-z0-9._-]*)(:\d+)?$/;

/**
 * Builds the ssh invocation. Fixed options come first because ssh keeps the first value it
 * reads for an option: nothing in the user's config can turn on a pty or agent forwarding.
 * `--` ends option parsing, so even a host that slipped past validation is never an option.
 */
export function buildSshInvocation(
  destination: SshDestination,
  options: SshOptions,
  extraOptions: readonly string[],
  remoteCommand: string,
): SshInvocation {
  if (!isSafeHost(destination.host)) {
    throw new UsageError(`refused host ${JSON.stringify(destination.host)}`);
  }
  if (destination.user !== undefined && !isSafeUser(destination.user)) {
    throw new UsageError(`refused user name ${JSON.stringify(destination.user)}`);
  }
  // RemoteCommand=none, as scp passes: a RemoteCommand in the user's config (tmux, bash -l)
  // would otherwise make ssh refuse any command given on its command line.
  const args: string[] = [
    ...['-T', '-x', '-a', '-o', 'RequestTTY=no', '-o', 'ClearAllForwardings=yes'],
    ...['-o', 'RemoteCommand=none'],
  ];
  args.push(...extraOptions);
  if (options.port !== undefined) args.push('-p', String(options.port));
  if (options.identity !== undefined) args.push('-i', options.identity);
  if (options.config !== undefined) args.push('-F', options.config);
  if (options.jump !== undefined) {
    if (!options.jump.split(',').every((hop) => JUMP.test(hop))) {
      throw new UsageError(`refused jump host ${JSON.stringify(options.jump)}`);
    }
    args.push('-J', options.jump);
  }
  for (const option of options.options ?? []) args.push('-o', option);
  if (destination.user !== undefined) args.push('-l', destination.user);
  args.push('--', destination.host, remoteCommand);

  const command = customSshCommand(options);
  if (command !== undefined) {
    // Like git's GIT_SSH_COMMAND: the local shell splits the user's command, and our
    // arguments follow as "$@", untouched by that shell. exec: the shell must not stay in
    // between, or killing "ssh" would kill only the shell and leave the real one running;
    // env: so the command may still start with VAR=value assignments.
    return { file: 'sh', args: ['-c', `exec env ${command} "$@"`, 'sshstream-ssh', ...args] };
  }
  return { file: 'ssh', args };
}

/** How an ssh process ended. */
export interface SshProcessResult {
  exitCode?: number | undefined;
  signal?: string | undefined;
  /** The errno code when the process could not be started (ENOENT: not on PATH). */
  code?: string | undefined;
  stdout?: unknown;
  stderr?: unknown;
}

/** A running ssh process: a promise of its result, with its pipes (our view of execa's subprocess). */
export interface SshProcess extends Promise<SshProcessResult> {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exitCode: number | null | undefined;
  kill(signal?: NodeJS.Signals): boolean;
  /** stdout as a Readable that ends only once the process has exited (execa's readable()). */
  readable(): Readable;
}

/** Spawns ssh (the only place that does). Data flows as raw bytes; no local shell is involved. */
export function spawnSsh(invocation: SshInvocation, options: ExecaOptions): SshProcess {
  return execa(invocation.file, invocation.args, {
    ...options,
    env: { ...sshMallocEnv(), ...options.env },
    reject: false,
    encoding: 'buffer',
    stripFinalNewline: false,
  });
}

/** What `env` prints when the --ssh / SSHSTREAM_SSH command cannot be run (GNU and busybox). */
const ENV_CANNOT_RUN =
  /^env: (?:can't execute )?['‘"]?(.+?)['’"]?: (No such file or directory|Permission denied)$/;

/**
 * Why the ssh command itself could not be started on this machine, or undefined: spawning
 * `ssh` failed (not on PATH), or `env` in the --ssh wrapper could not run the user's command
 * (status 127 or 126, with env's own message). That is a local problem, not a remote one.
 */
export function missingSshCommand(exit: SshProcessResult, lastLine: string): string | undefined {
  const said = ENV_CANNOT_RUN.exec(lastLine);
  const [command, why] =
    exit.code === 'ENOENT' || exit.code === 'EACCES'
      ? ['ssh', exit.code === 'EACCES' ? 'Permission denied' : '']
      : (exit.exitCode === 127 || exit.exitCode === 126) && said
        ? [said[1], said[2]]
        : [];
  if (command === undefined) return undefined;
  const problem = why === 'Permission denied' ? 'is not executable' : 'not found on this machine';
  return `cannot run ssh: command "${command}" ${problem} (check PATH, --ssh and SSHSTREAM_SSH)`;
}

/** The --ssh / `$SSHSTREAM_SSH` command, if one is set: it may not be OpenSSH. */
export function customSshCommand(options: SshOptions): string | undefined {
  const command = (options.sshCommand ?? process.env['SSHSTREAM_SSH'] ?? '').trim();
  return command === '' ? undefined : command;
}
