import { Command, CommanderError, Option } from 'commander';
import { runPull, type PullFlags } from './pull.js';
import { collectTargets, runFanOut, type FanOutFlags } from './fan-out.js';
import { runPush } from './push.js';
import { addTransferOptions, checkTransferFlags, wholeNumber } from './options.js';
import { runDemo } from './demo.js';
import { EXIT_CODES, UsageError, exitCodeOf } from '../util/errors.js';
import { abortedBy, errorReport } from './error-report.js';
import { EXIT_HELP, PULL_HELP, PUSH_HELP } from './help-text.js';
import { splitCommand } from './split-command.js';
import { packageVersion } from './package-version.js';
import { debug } from '../util/debug.js';

/** The sshstream command line: parses argv, runs the subcommand, returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  debug('cli: loaded');
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
    const error = controller.signal.aborted ? abortedBy(controller.signal, caught) : caught;
    process.stderr.write(errorReport(error, process.env['SSHSTREAM_DEBUG'] === '1'));
    return exitCodeOf(error);
  } finally {
    for (const name of HANDLED_SIGNALS) process.off(name, onSignal);
  }
}

/** Signals that stop a transfer in order (cleanup first), like Ctrl-C. */
const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// A quiet non-zero exit (no message), e.g. when the reader of stdout closed early.
class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
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
    writeOut: writeHelp,
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
      .argument(
        '[file]',
        'local file to write (atomically); default or -: stdout (a file named - is ./-)',
      )
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
    // "-" is stdout, as for tar -f and curl -o.
    const code = await runPull(source, file === '-' ? undefined : file, flags, signal);
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

// Help and the version on stdout. A reader that stops early (`sshstream --help | head`) had
// what it wanted: its EPIPE is no error, as for cat.
function writeHelp(text: string): void {
  process.stdout.once('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.stdout.write(text);
}
