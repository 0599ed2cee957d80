import { type Command, Option } from 'commander';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../../transforms/checksum.js';
import { COMPRESSION_CHOICES, type CompressionChoice } from '../../transforms/compress.js';
import { checkCompressLevel } from '../util/compress-level.js';
import { UsageError } from '../util/errors.js';
import { parseRate } from '../../transforms/format.js';
import type { SshOptions } from '../ssh/command.js';
import { MAX_STREAMS, type Streams } from '../util/streams.js';

/** Options shared by push and pull, as commander parses them. */
export interface TransferFlags {
  compress?: CompressionChoice;
  z?: boolean;
  compressLevel?: number;
  checksum: ChecksumAlgorithm;
  progress?: boolean;
  quiet?: boolean;
  json?: boolean;
  limitRate?: number;
  stallTimeout?: number;
  streams: Streams;
  singleConnection?: boolean;
  port?: number;
  identity?: string;
  config?: string;
  option: string[];
  jump?: string;
  ssh?: string;
}

/** Flags of `sshstream push`. */
export interface PushFlags extends TransferFlags {
  mode?: string;
  mkdir?: boolean;
  inplace?: boolean;
  resume?: boolean;
  retries?: number;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A commander parser for a whole number in [min, max]. */
export function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new UsageError(
        `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
}

function streams(value: string): Streams {
  return value === 'auto' ? 'auto' : wholeNumber('--streams', 1, MAX_STREAMS)(value);
}

function rate(value: string): number {
  try {
    return parseRate(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Adds the transfer and ssh options every transfer subcommand takes. */
export function addTransferOptions(command: Command): Command {
  return command
    .addOption(new Option('-z', 'compress on the wire with gzip (same as --compress gzip)'))
    .addOption(
      new Option(
        '--compress <kind>',
        'compress on the wire: gzip; zstd (needs zstd on both ends); auto (zstd, else gzip, only when the first 64 KiB of the data shrink below 90%)',
      ).choices(COMPRESSION_CHOICES),
    )
    .addOption(
      new Option('--compress-level <n>', 'compression level (gzip 1-9, zstd 1-19)').argParser(
        wholeNumber('--compress-level', 1, 19),
      ),
    )
    .addOption(
      new Option('--checksum <algorithm>', 'hash checked on both ends')
        .choices(CHECKSUM_ALGORITHMS)
        .default('md5'),
    )
    .option(
      '--progress',
      'show progress on stderr (default: when stderr is a terminal, unless pulled data goes to it)',
    )
    .option('--no-progress', 'never show progress')
    .option('-q, --quiet', 'no summary line on success')
    .option('--json', 'print the result as one JSON object on stdout')
    .addOption(
      new Option('--limit-rate <rate>', 'limit the rate on the wire, e.g. 500K, 10M').argParser(
        rate,
      ),
    )
    .addOption(
      new Option(
        '--stall-timeout <seconds>',
        'give up (exit 2) when no data has moved for this long; also sets ssh keep-alives and ConnectTimeout unless configured; 0: off',
      )
        .default(60)
        .argParser(wholeNumber('--stall-timeout', 0, 86400)),
    )
    .addOption(
      new Option(
        '--streams <n>',
        `SSH channels that carry a regular file in parallel ranges (1-${MAX_STREAMS}); auto: 1 on a LAN, more on a long link (one channel moves at most 2 MiB per round trip)`,
      )
        .default('auto')
        .argParser(streams),
    )
    .option(
      '--single-connection',
      'all streams ride the one connection; by default each opens a connection of its own where that logs in without asking (a key or an agent), since one TCP connection caps a long link',
    )
    .addOption(
      new Option('-p, --port <port>', 'ssh port').argParser(wholeNumber('--port', 1, 65535)),
    )
    .option('-i, --identity <file>', 'ssh identity (private key) file')
    .option('-F, --config <file>', 'ssh config file')
    .option('-o, --option <option>', 'ssh option, e.g. -o Compression=no (repeatable)', collect, [])
    .option('-J, --jump <host>', 'connect through this jump host (ssh -J)')
    .option('--ssh <command>', 'ssh command to run instead of ssh (also $SSHSTREAM_SSH)');
}

/** The library options every transfer takes, from the flags: ssh, checksum, compression, rate. */
export function transferOptionsOf(flags: TransferFlags) {
  return {
    ...sshOptionsOf(flags),
    checksum: flags.checksum,
    compress: compressionOf(flags),
    compressLevel: flags.compressLevel,
    limitRate: flags.limitRate,
    stallTimeout: flags.stallTimeout === undefined ? undefined : flags.stallTimeout * 1000,
    streams: flags.streams,
    singleConnection: flags.singleConnection,
  };
}

/** The ssh part of the flags, for the library. */
function sshOptionsOf(flags: TransferFlags): SshOptions {
  return {
    port: flags.port,
    identity: flags.identity,
    config: flags.config,
    options: flags.option,
    jump: flags.jump,
    sshCommand: flags.ssh,
  };
}

/** Refuses flags that do not fit together, before anything reads input or connects. */
export function checkTransferFlags(flags: TransferFlags): void {
  checkCompressLevel(compressionOf(flags), flags.compressLevel, {}, '--compress-level');
}

/** `-z` means gzip; an explicit --compress wins. */
export function compressionOf(flags: TransferFlags): CompressionChoice | undefined {
  return flags.compress ?? (flags.z ? 'gzip' : undefined);
}
