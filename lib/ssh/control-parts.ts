import type { ErrorContext } from '../util/errors.js';
import type { ReportReader } from '../remote/reports.js';
import type { SshExit } from './failure.js';
import type { SshDestination, SshOptions, SshProcess } from './command.js';

/** What opening a control connection needs. */
export interface ControlParams {
  destination: SshDestination;
  ssh: SshOptions;
  /** Operation and arguments of the remote control script (after the tag). */
  remoteArgs: readonly string[];
  context: ErrorContext;
  /** The stall timeout in ms (0: off), for ssh's keep-alives and ConnectTimeout. */
  stallTimeout: number;
  /** Aborting kills the master, even while it connects or authenticates. */
  signal?: AbortSignal | undefined;
  /**
   * Lanes of a transfer in ranges known before connecting (a count the user gave): their
   * connections open beside the master (see ControlConnection.openExtras). Default 1: none.
   */
  lanes?: number | undefined;
}

/** A spawned master and what its sessions need (see openControlConnection). */
export interface ControlParts {
  params: ControlParams;
  /** The private directory of the master's socket (removed on close). */
  dir: string;
  master: SshProcess;
  stdout: ReportReader;
  stderr: ReportReader;
  tag: string;
  exited: Promise<SshExit>;
  /** ssh options every session repeats: cipher, keep-alives, the config's session options. */
  sessionArgs: readonly string[];
  /** Riding the user's own running master (see hasUserMaster) instead of a private one. */
  ridesUserMaster: boolean;
}
