import { Command, CommanderError, Option } from 'commander';
import { runPull, type PullFlags } from './pull.js';
import { collectTargets, runFanOut, type FanOutFlags } from './fan-out.js';
import { runPush } from './push.js';
import { addTransferOptions, checkTransferFlags, wholeNumber } from './options.js';
import { runDemo } from './demo.js';
import { abortErrorFor } from '../util/abort.js';
import { AbortError, EXIT_CODES, SshStreamError, UsageError, exitCodeOf } from '../util/errors.js';
import { escapeControl, escapeRawControl } from '../util/escape.js';
import { packageVersion } from './package-version.js';

const PULL_HELP = `
The remote side hashes the bytes it reads in the same pass and reports count and hash at the
end; a mismatch exits 3. With FILE the data goes to a hidden temporary file beside it, renamed
into place only when verified (an existing FILE keeps its mode). To stdout the bytes are
already out when a mismatch is found: check the exit status. If the reader of stdout closes
early (sshstream pull h:f | head) sshstream stops quietly with status 141, like cat.

Examples:
  sshstream pull db1:/var/backups/dump.sql.gz > dump.sql.gz
  sshstream pull -z --checksum sha256 web1:logs/app.log app.log`;

const EXIT_HELP = `
Exit codes:
  0        transferred and verified
  1        usage: bad arguments, refused host or path
  2        could not connect or authenticate, the connection was lost (ssh exited 255),
           or no data moved for --stall-timeout seconds
  3        verification failed: counts or hashes differ; nothing committed
  4        remote I/O: permission, missing directory, disk full, remote tool missing
  5        local I/O: cannot read input or write output
  6        push to several targets: some failed (all failed alike: their code)
  70       internal error: a bug in sshstream (SSHSTREAM_DEBUG=1 prints the stack)
  141      pull: the reader of stdout closed early (quietly, like cat)
  129      hangup (SIGHUP: the terminal closed), after cleanup
  130/143  interrupted by SIGINT / SIGTERM, after cleanup

Environment:
  SSHSTREAM_SSH   ssh command to use instead of "ssh" (like GIT_SSH_COMMAND), e.g. "ssh -v"
  SSHSTREAM_DEBUG 1: timings of each step, and the stack of an internal error`;

const PUSH_HELP = `
The data goes to a hidden temporary file beside the destination
(.NAME.sshstream-<id>.tmp). Only when the byte count and hash of what landed on the remote
disk equal those of stdin is it fsynced and renamed over PATH. On any failure, interrupt or
lost connection the destination is left as it was and the temporary file is removed.
A relative PATH is relative to the remote home directory. An existing file keeps its
permission bits; a new one gets 0666 & ~umask (like cat >), unless --mode is given. A
symbolic link at PATH is replaced by the file (as rsync does), not written through.

Through a pipe (pg_dump db | sshstream push ...) a producer that dies midway cannot be told
from a short input: its partial output would be verified and committed. With
"sshstream push [options] HOST:PATH -- COMMAND [ARGS...]" sshstream runs the command itself
(no shell; its stdout is the input, its stderr passes through) and commits only if it exits 0
(else exit 5, nothing committed). A regular file on stdin must not change while it is sent
(else exit 3, nothing committed). PATH must be a regular file, a link to one, or missing: a
FIFO, a device or a directory is refused (exit 4); remove it first to push a file there.

A file that cannot be renamed over (a mount point: Docker's -v file:file bind mount) fails
with "Device or resource busy" (exit 4). --inplace writes into it instead: the data is still
verified in the temporary file, then copied over the existing file in place, fsynced and
hashed again (a mismatch exits 3). That copy is NOT atomic: a failure or a reader during it
sees a partly written file, and it writes through a symbolic link.

One SSH channel moves at most 2 MiB per round trip (about 20 MiB/s at 100 ms). A regular
file on stdin (64 MiB or more, or any size with --streams 2 or more) travels in ranges, each
on its own channel of the one connection and written at its offset into the temporary file;
--streams auto (the default) keeps 1 channel on a LAN and takes up to 8 on a long link, from
the round trip it measures. With --resume, ranges that landed whole are not sent again.

Several targets get the same stdin at the same time, each verified and committed on its own;
a failing target is dropped without stopping the others, and a table ends the run.

Examples:
  cat build.tar | sshstream push deploy@web1:/srv/app/build.tar
  sshstream push web1:app.tar web2:app.tar web3:app.tar < app.tar
  sshstream push --targets hosts.txt --max-parallel 8 < app.tar
  sshstream push -z --mkdir backup:dumps/db.sql -- pg_dump db
  sshstream push --json --checksum sha256 '[::1]:/tmp/x' < x
  sshstream push --streams 8 --retries 3 far-away:big.iso < big.iso`;

/** The sshstream command line: parses argv, runs the subcommand, returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  for (const name of HANDLED_SIGNALS) process.on(name, onSignal);
  try {
    await buildProgram(controller.signal, argv).parseAsync(argv, { from: 'user' });
    return EXIT_CODES.ok;
  } catch (caught) {
    if (caught instanceof ExitStatus) return caught.status;
    if (caught instanceof CommanderError) {
      return caught.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    // Once the user sent a signal, whatever failed next (ssh killed by the same SIGINT or
    // SIGHUP, say) is only its echo: the exit code is the signal's.
    const error = controller.signal.aborted ? abortedBy(controller.signal, caught) : caught;
    process.stderr.write(errorReport(error, process.env['SSHSTREAM_DEBUG'] === '1'));
    return exitCodeOf(error);
  } finally {
    for (const name of HANDLED_SIGNALS) process.off(name, onSignal);
  }
}

/** Signals that stop a transfer in order (cleanup first), like Ctrl-C. */
const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function abortedBy(signal: AbortSignal, error: unknown): unknown {
  if (error instanceof AbortError) return error;
  const { operation, target } = error instanceof SshStreamError ? error : {};
  return abortErrorFor(signal, { operation, target, cause: error });
}

/**
 * What the CLI prints for an error: one line, and for an error that is not sshstream's own
 * nor a failed system call, a line that says so (a bug), with the stack when `debug` is set.
 */
export function errorReport(error: unknown, debug = false): string {
  if (exitCodeOf(error) !== EXIT_CODES.internal) return `sshstream: ${errorLine(error)}\n`;
  const stack = error instanceof Error && error.stack ? error.stack : String(error);
  return (
    `sshstream: internal error (a bug in sshstream, please report it): ${errorLine(error)}` +
    (debug ? `\n${stack}\n` : ' (set SSHSTREAM_DEBUG=1 for the stack)\n')
  );
}

// A quiet non-zero exit (no message), e.g. when the reader of stdout closed early.
class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

// `push HOST:PATH -- COMMAND ARGS...`: the operands after the "--" that follows a target are
// the command (commander hands them over as more operands). A "--" before any target only ends
// the options, as usual (`push -- -odd-host:path`); a second "--" then starts the command.
function splitCommand(args: string[], raw: readonly string[]): [string[], string[] | undefined] {
  const at = raw.indexOf('--');
  if (at < 0) return [args, undefined];
  const after = raw.slice(at + 1);
  let targets = args.slice(0, args.length - after.length);
  let command = after;
  if (targets.length === 0) {
    const second = after.indexOf('--');
    if (second < 0) return [after, undefined];
    targets = after.slice(0, second);
    command = after.slice(second + 1);
  }
  if (command.length === 0) throw new UsageError('push: nothing after --: give COMMAND [ARGS...]');
  return [targets, command];
}

function errorLine(error: unknown): string {
  if (error instanceof Error) return escapeRawControl(error.message.replace(/\n/g, ' '));
  return escapeControl(String(error));
}

function buildProgram(signal: AbortSignal, argv: readonly string[]): Command {
  const program = new Command('sshstream')
    .description(
      'Stream bytes to and from files over the system ssh, hashed on both ends and committed atomically.',
    )
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', EXIT_HELP);
  program.configureOutput({
    writeErr: (text) =>
      process.stderr.write(text.startsWith('error:') ? `sshstream: ${text}` : text),
  });

  addTransferOptions(
    program
      .command('push')
      .description('stream stdin into remote files, verified, then renamed into place')
      .argument(
        '[targets...]',
        '[user@]host:path or user@[ipv6]:path; several: all at once; -- COMMAND [ARGS...]: push its output',
      )
      .addOption(new Option('--mode <octal>', 'permission bits of the file, e.g. 640'))
      .option('--mkdir', 'create missing parent directories')
      .option(
        '--inplace',
        'verify in a temporary file as always, then copy it over the existing file instead of renaming (for a bind-mounted file); NOT atomic',
      )
      .option(
        '--resume',
        'keep the remote partial file if the transfer fails, and continue one left by an earlier --resume push (stdin must be a regular file)',
      )
      .addOption(
        new Option(
          '--retries <n>',
          'retry N times when the connection fails or drops, continuing where it stopped (implies --resume)',
        ).argParser(wholeNumber('--retries', 0, 100)),
      )
      .option('--targets <file>', 'read more targets from FILE, one per line')
      .addOption(
        new Option(
          '--max-parallel <n>',
          'at most N connections at once (default 16); more targets wait and are fed from a local temporary copy of stdin',
        ).argParser(wholeNumber('--max-parallel', 1, 1024)),
      )
      .addHelpText('after', PUSH_HELP + '\n' + EXIT_HELP),
  ).action(async (args: string[], flags: FanOutFlags) => {
    checkTransferFlags(flags);
    const [operands, producer] = splitCommand(args, argv);
    const targets = await collectTargets(operands, flags.targets);
    if (targets.length === 0)
      throw new UsageError('push: no target given (see sshstream push --help)');
    if (producer && (targets.length !== 1 || flags.targets !== undefined))
      throw new UsageError('push: -- COMMAND works with one target');
    if (targets.length === 1 && flags.targets === undefined)
      return runPush(targets[0]!, flags, signal, producer);
    if (flags.retries || flags.resume) {
      throw new UsageError('--resume and --retries work with one target at a time');
    }
    return runFanOut(targets, flags, signal);
  });

  addTransferOptions(
    program
      .command('pull')
      .description('stream a remote file to stdout, or atomically into FILE, verified')
      .argument('<source>', '[user@]host:path or user@[ipv6]:path')
      .argument('[file]', 'local file to write (atomically); default: stdout')
      .option(
        '--resume',
        "keep a failed pull's partial file (.FILE.sshstream-partial) and continue it next time (needs FILE)",
      )
      .addOption(
        new Option(
          '--retries <n>',
          'retry N times when the connection fails or drops, continuing where it stopped (implies --resume)',
        ).argParser(wholeNumber('--retries', 0, 100)),
      )
      .addHelpText('after', PULL_HELP + '\n' + EXIT_HELP),
  ).action(async (source: string, file: string | undefined, flags: PullFlags) => {
    checkTransferFlags(flags);
    const code = await runPull(source, file, flags, signal);
    if (code !== 0) throw new ExitStatus(code);
  });

  program
    .command('demo')
    .description('push 64 MiB through a throwaway local sshd and show it verified')
    .option('--size <mib>', 'MiB to push', '64')
    .action((flags: { size: string }) => {
      const mib = Number(flags.size);
      if (!Number.isFinite(mib) || mib < 0) throw new UsageError(`--size must be a number of MiB`);
      return runDemo({ mib, signal });
    });
  return program;
}
