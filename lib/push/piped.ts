import type { Duplex, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { createCompressor, type Compression } from '../../transforms/compress.js';
import { createThrottle } from '../../transforms/throttle.js';
import { LocalIOError, type ErrorContext } from '../util/errors.js';
import { createSkipBytes } from './skip-bytes.js';
import type { DataSession } from './data-session.js';
import type { Delivery, DeliveryEvents, LocalDigest } from './delivery.js';
import { writeWithBackpressure, type InputHash } from './input-hash.js';

/** How the bytes are shaped on their way into the data session. */
export interface PipedParams {
  algorithm: ChecksumAlgorithm;
  /** Bytes the remote partial file already holds: not sent again. */
  skip: number;
  compress: Compression | undefined;
  level: number | undefined;
  limitRate: number | undefined;
  context: ErrorContext;
}

/**
 * Node feeds a data session through a pipeline: hash, skip what a partial file already holds,
 * compress, throttle, ssh's stdin. The remote side hashes in the same pass.
 */
export class PipedDelivery implements Delivery {
  readonly compress: Compression | undefined;
  // The pipeline's own failure, kept as a value: see end().
  private readonly flow: Promise<unknown>;

  constructor(
    private readonly session: DataSession,
    private readonly hash: InputHash,
    private readonly params: PipedParams,
    events: DeliveryEvents,
  ) {
    this.compress = params.compress;
    const stdin = session.process.stdin! as Writable & { bytesWritten?: number };
    // The session waits for this line before it touches any file. With a partial file to
    // continue, the remote side hashes the whole file at the commit instead.
    stdin.write(`go ${params.skip > 0 ? '-' : params.algorithm}\n`);
    const stages: Duplex[] = [hash.stream];
    if (params.skip > 0) stages.push(createSkipBytes(params.skip));
    if (params.compress) stages.push(createCompressor(params.compress, params.level));
    if (params.limitRate) stages.push(createThrottle(params.limitRate));
    // A failing stage (EPIPE when the remote side quit early) is not the cause; the data
    // session's exit is, and end() or the push's watch on the session reports that.
    const streams: NodeJS.WritableStream[] = [...stages, stdin];
    this.flow = pipeline(streams).catch((error: unknown) => error);
    // Progress: bytes the pipe to ssh took. Data held in front of it means ssh is not reading.
    events.sessionStarted(session, {
      moved: () => (stdin.bytesWritten ?? 0) - stdin.writableLength,
      waiting: () => stdin.writableLength > 0 && session.process.exitCode === null,
    });
  }

  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    writeWithBackpressure(this.hash.stream, chunk, callback);
  }

  async end(): Promise<LocalDigest> {
    this.hash.stream.end();
    const flowError = await this.flow;
    await this.session.done;
    if (flowError) {
      throw new LocalIOError(
        String((flowError as Error).message ?? flowError),
        this.params.context,
      );
    }
    return this.hash.result();
  }

  stop(): void {
    this.hash.stream.destroy();
  }
}
