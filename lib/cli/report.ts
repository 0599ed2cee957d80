import { fstatSync } from 'node:fs';
import { escapeControl } from '../util/escape.js';
import { formatBytes, formatDuration, formatRate } from '../../transforms/format.js';
import type { TransferFlags } from './options.js';

/** What every transfer result has, for the summary line and --json. */
export interface TransferSummary {
  target: string;
  bytes: number;
  algorithm: string;
  digest: string;
  seconds: number;
  /** Bytes already on the other side from an earlier resumable transfer. */
  resumed?: number;
}

/**
 * Progress on stderr: redrawn on a terminal, plain lines when forced with --progress. Off by
 * default when `dataOnStdout` goes to the terminal stderr is on: it would draw into the data.
 */
export function progressMode(
  flags: TransferFlags,
  dataOnStdout = false,
): 'tty' | 'lines' | undefined {
  if (flags.quiet && flags.progress !== true) return undefined;
  if (dataOnStdout && flags.progress !== true && stdoutIsStderrTerminal()) return undefined;
  const tty = process.stderr.isTTY === true;
  if (flags.progress === false) return undefined;
  if (flags.progress === true) return tty ? 'tty' : 'lines';
  return tty ? 'tty' : undefined;
}

/** One summary line on stderr (unless -q), and with --json one JSON object on stdout. */
export function printResult(result: TransferSummary, flags: TransferFlags, verb: string): void {
  if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
  if (flags.quiet) return;
  const rate = result.seconds > 0 ? result.bytes / result.seconds : 0;
  const check =
    result.algorithm === 'none'
      ? 'byte count verified (no checksum)'
      : `${result.algorithm} ${result.digest} verified`;
  process.stderr.write(
    `sshstream: ${verb} ${formatBytes(result.bytes)} ${verb === 'pulled' ? 'from' : 'to'} ${escapeControl(result.target)} ` +
      `in ${formatDuration(result.seconds)} (${formatRate(rate)}), ${check}` +
      (result.resumed ? ` (resumed after ${formatBytes(result.resumed)})` : '') +
      '\n',
  );
}

// Whether stdout and stderr are one terminal (same device), as in a plain interactive shell.
function stdoutIsStderrTerminal(): boolean {
  if (!process.stdout.isTTY || !process.stderr.isTTY) return false;
  try {
    return fstatSync(1).rdev === fstatSync(2).rdev;
  } catch {
    return false;
  }
}
