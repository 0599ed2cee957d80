import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { ExtraConnections } from '../ssh/extra-connections.js';
import { SessionRefusedError } from '../ssh/rider.js';
import { debug } from '../util/debug.js';
import { runLanes } from '../util/work-queue.js';
import { LocalIOError, VerificationError, type ErrorContext } from '../util/errors.js';
import { startDataSession, type DataSession } from './data-session.js';
import { RangePump } from './range-pump.js';
import type { Delivery, DeliveryEvents, LocalDigest } from './delivery.js';
import { digestOfDirect, fileStamp, type DirectInput } from './direct-input.js';
import { laneCount, missingSpans, planJobs, type Span } from './ranges-plan.js';
import { killSsh } from '../ssh/process-tree.js';

/** What a parallel push is asked to do. */
export interface RangesParams {
  path: string;
  input: DirectInput;
  streams: number;
  /** How many connections the streams use: the master's, and extra ones (ExtraConnections). */
  connections: number;
  /** Parts of the input (relative to its start) that a resumed partial file already holds. */
  landed: readonly Span[];
  resume: boolean;
  algorithm: ChecksumAlgorithm;
  digestSource: (() => Promise<string>) | undefined;
  context: ErrorContext;
}

// A range on its way: what node has read of it, and the pipe into its session.
interface Flight {
  pump: RangePump;
  stdin: Writable;
}

/**
 * The input file travels in ranges, each on its own session over the one connection (one SSH
 * channel moves at most its 2 MiB window per round trip; N channels move N windows). Each
 * session writes its range at its offset into the temporary file (`push-range`: dd seek,
 * conv=notrunc); the commit hashes the whole file on disk against the local digest, which a
 * pread pass computes meanwhile. A resumable push has the control script record every range
 * that landed whole, so the next run sends only the rest.
 */
export class RangesDelivery implements Delivery {
  readonly compress = undefined;
  private stopped = false;
  private readonly sessions = new Set<DataSession>();
  private readonly extra: ExtraConnections;
  private readonly flights = new Set<Flight>();
  // Bytes of the ranges that landed whole, in this run.
  private sent = 0;
  private readonly work: Promise<void>;
  private readonly digest: Promise<LocalDigest>;
  // Size and mtime when it started: a file that changes while it is read proves nothing.
  private readonly stamp: string;

  constructor(
    private readonly control: ControlConnection,
    private readonly params: RangesParams,
    events: DeliveryEvents,
  ) {
    const { input, streams, landed, algorithm, digestSource } = params;
    this.stamp = fileStamp(input.fd);
    const size = fstatSync(input.fd).size - input.start;
    const jobs = planJobs(missingSpans(size, landed), streams);
    const lanes = laneCount(jobs, streams);
    debug(`push: ${jobs.length} ranges over ${lanes} lanes`);
    // Opened while the master logged in, for a count the user gave (lanesBeforeConnecting),
    // or once it had, after a long login (lanesAfterLongLogin).
    this.extra =
      control.takeExtras() ?? new ExtraConnections(control, Math.min(params.connections, lanes));
    this.digest = digestOfDirect(input, algorithm, digestSource, () => this.stopped);
    this.digest.catch(() => {});
    this.work = runLanes('push', jobs, lanes, {
      ready: (lane, drained) => this.extra.socketOf(lane, drained),
      carry: (job, socket) => this.send(job, socket),
      stopped: () => this.stopped,
    });
    this.work.catch(() => {});
    events.transferStarted(this.work, {
      moved: () => this.moved(),
      waiting: () => [...this.flights].some((flight) => flight.stdin.writableLength > 0),
    });
  }

  // Sends one range on a session of its own (over the connection at `socket`, or the master);
  // resolves once the remote side has written it all, or with the refusal when the server
  // refused the session (sshd MaxSessions). The range then goes to another lane, whole: sent
  // twice, its bytes land at the same offset (dd conv=notrunc), and the commit hashes them all.
  private async send(job: Span, socket: string | undefined): Promise<Error | undefined> {
    const { path, input, resume, context } = this.params;
    const args = [path, resume ? '1' : '0', String(job.offset)];
    const session = startDataSession(this.control, args, 'pipe', context, 'push-range', socket);
    this.sessions.add(session);
    const stdin = session.process.stdin!;
    const pump = new RangePump(input.fd, input.start + job.offset, job.length, stdin);
    const flight = { pump, stdin };
    this.flights.add(flight);
    // A failing pipe (EPIPE when the remote side quit) is not the cause: the session's exit is.
    const flow = pump.done.then(
      () => undefined,
      (error: Error) => error,
    );
    try {
      const refused = await session.done.then(
        () => undefined,
        (error: Error) => {
          if (error instanceof SessionRefusedError) return error;
          throw error;
        },
      );
      if (refused) return refused;
      const failure = await flow;
      if (failure) {
        throw new LocalIOError(`cannot read input: ${failure.message}`, {
          ...context,
          cause: failure,
        });
      }
      if (pump.bytesRead !== job.length) throw this.changedError(pump.bytesRead);
    } finally {
      this.flights.delete(flight);
      this.sessions.delete(session);
    }
    this.sent += job.length;
    // Only a resumable push keeps its partial file, and with it the record of what landed.
    if (resume) this.control.send(`landed ${job.offset} ${job.length}`);
    return undefined;
  }

  private moved(): number {
    let moving = 0;
    for (const { pump, stdin } of this.flights) moving += pump.bytesRead - stdin.writableLength;
    return this.sent + Math.max(0, moving);
  }

  write(_chunk: Buffer, callback: (error?: Error | null) => void): void {
    callback(new Error('a parallel push reads its file itself: write nothing to it'));
  }

  async end(): Promise<LocalDigest> {
    await this.work.finally(() => this.extra.close());
    const local = await this.digest.catch((error: Error) => {
      throw new LocalIOError(`cannot read input: ${error.message}`, {
        ...this.params.context,
        cause: error,
      });
    });
    // Both ends may have read the same changed file: equal hashes would prove nothing.
    if (this.changed()) throw this.changedError(local.bytes);
    return local;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.sessions];
    for (const session of running) {
      if (session.process.exitCode === null) killSsh(session.process);
    }
    await Promise.all(running.map((session) => session.process));
    await this.extra.close(true);
  }

  mismatchNote(): string {
    return this.changed() ? ' (the input file changed while it was sent)' : '';
  }

  private changed(): boolean {
    return fileStamp(this.params.input.fd) !== this.stamp;
  }

  private changedError(bytes: number): VerificationError {
    const local = { bytes, digest: '' };
    return new VerificationError(
      `${bytes} bytes read; nothing committed (the input file changed while it was sent)`,
      local,
      local,
      this.params.context,
    );
  }
}
