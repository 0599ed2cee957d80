import { Readable, Writable, type Duplex } from 'node:stream';
import { createChecksum, type ChecksumStream } from '../../transforms/checksum.js';
import { createDecompressor, isCompression, type Compression } from '../../transforms/compress.js';
import { createThrottle } from '../../transforms/throttle.js';
import { destroyOnAbort } from '../util/abort.js';
import { createDeferred } from '../util/deferred.js';
import { AbortError, type ErrorContext } from '../util/errors.js';
import { parseDataHeader, readHeader, type DataHeader } from '../remote/header.js';
import { pipeThrough } from '../util/pipe-through.js';
import type { PullOptions, PullResult } from './options.js';
import {
  causeOf,
  startPullSession,
  verifyPull,
  type PullSession,
  type SessionStarter,
} from './pull-session.js';
import { verifiedResult } from '../util/result.js';
import { stallError, stallTimeoutOf, watchStall, type StallWatch } from '../util/stall-watchdog.js';
import type { Target } from '../ssh/target.js';
import type { AnyListener, Listener, OtherEvent } from '../util/stream-events.js';
import { killSsh } from '../ssh/process-tree.js';

/** The events a PullStream emits of its own (see the class), and their listeners' arguments. */
export type PullStreamEvents = { size: [size: number | undefined] };

// Typed `on`/`once` for them (see stream-events.ts): merged into the class below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PullStream {
  on<E extends keyof PullStreamEvents>(event: E, listener: Listener<PullStreamEvents, E>): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on<E extends string | symbol>(
    event: OtherEvent<E, PullStreamEvents>,
    listener: AnyListener,
  ): this;
  once<E extends keyof PullStreamEvents>(event: E, listener: Listener<PullStreamEvents, E>): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once<E extends string | symbol>(
    event: OtherEvent<E, PullStreamEvents>,
    listener: AnyListener,
  ): this;
}

/**
 * The Readable returned by createPullStream. It ends only after the remote count and digest
 * matched what arrived; otherwise it errors (typed). Emits `'size'` (the remote size, or
 * undefined for a file that is not a regular one) when the data starts.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PullStream extends Readable {
  /** Resolves after verification; rejects with the stream's error. */
  readonly result: Promise<PullResult>;
  /** Size the remote side announced (regular files), once known. */
  size: number | undefined;
  /** Where the data starts in the remote file: 0, or `resumeFrom.bytes` when resuming. */
  offset = 0;
  /** The compression on the wire; with `'auto'`, what the remote side chose (once the data starts). */
  compress: Compression | undefined;
  private readonly outcome = createDeferred<PullResult>();
  private readonly checksum: ChecksumStream;
  private readonly started = performance.now();
  private session: PullSession | undefined;
  // The last stage of the data, and its write waiting while our reader is full.
  private intake: Writable | undefined;
  private waiting: (() => void) | undefined;
  private stall: StallWatch | undefined;
  private noise = '';

  constructor(
    private readonly source: Target,
    private readonly options: PullOptions,
    private readonly context: ErrorContext,
    // A connection already open to ride (see pull-control.ts), else ssh connects anew.
    private readonly starter?: SessionStarter,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.result = this.outcome.promise;
    this.checksum = createChecksum(options.checksum ?? 'md5');
    this.compress = options.compress === 'auto' ? undefined : options.compress;
    this.on('close', () => this.stopSsh());
    destroyOnAbort(this, options.signal, context);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    startPullSession(this.source, this.options, this.checksum.algorithm, this.starter).then(
      (session) => {
        this.session = session;
        void this.receive(session);
        callback();
      },
      callback,
    );
  }

  // The whole pull once ssh runs: the header, the data through its stages into this stream,
  // then the verdict. Any failure destroys the stream (_destroy picks the cause to report).
  private async receive(session: PullSession): Promise<void> {
    try {
      const header = await readHeader(session.stdout, session.tag, this.context);
      if (header.fields) {
        this.begin(parseDataHeader(header.fields), session);
        this.intake = new Writable({
          write: (chunk: Buffer, _, done) => this.deliver(chunk, done),
        });
        await pipeThrough(session.stdout, this.stages(), this.intake);
      } else {
        // No header, no data: ssh's exit and what it printed instead tell why.
        this.noise = header.noise;
        this.checksum.end();
      }
      this.stall?.stop();
      const local = await this.checksum.result;
      await verifyPull(session, local, this.context, this.noise);
      this.outcome.resolve(
        verifiedResult({
          target: this.source.display,
          ...local,
          started: this.started,
          compress: this.compress,
          resumed: this.offset,
        }),
      );
      this.push(null);
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  // What the remote side chose, and where its data starts in the file.
  private begin({ size, offset, compress }: DataHeader, session: PullSession): void {
    if (this.options.compress === 'auto' && isCompression(compress)) this.compress = compress;
    const resume = this.checksum.algorithm !== 'none' ? this.options.resumeFrom : undefined;
    if (resume && offset === resume.bytes && offset > 0) {
      this.offset = offset;
      this.checksum.continueFrom(resume.hash.copy(), offset);
    }
    this.size = size;
    this.emit('size', size);
    this.watchStall(session);
  }

  private stages(): Duplex[] {
    const stages: Duplex[] = [];
    if (this.options.limitRate) stages.push(createThrottle(this.options.limitRate));
    if (this.compress) stages.push(createDecompressor(this.compress));
    stages.push(this.checksum);
    return stages;
  }

  // From the header on the data flows: ssh's output not moving while we read it is a stall.
  // Before it (connecting, the remote side comparing a resumed prefix) keep-alives watch.
  private watchStall({ child, stdout }: PullSession): void {
    const socket = stdout as Readable & { bytesRead?: number };
    const ms = stallTimeoutOf(this.options);
    this.stall = watchStall(
      ms,
      {
        moved: () => socket.bytesRead ?? 0,
        waiting: () => stdout.readableFlowing === true && child.exitCode === null,
      },
      () => this.destroy(stallError(ms, this.context)),
    );
  }

  private deliver(chunk: Buffer, done: () => void): void {
    if (this.push(chunk)) done();
    else this.waiting = done;
  }

  override _read(): void {
    const done = this.waiting;
    this.waiting = undefined;
    done?.();
  }

  private stopSsh(): void {
    this.stall?.stop();
    const child = this.session?.child;
    if (child && child.exitCode === null) killSsh(child);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.intake?.destroy();
    const settle = (failure: Error | null) => {
      this.outcome.reject(failure ?? new AbortError('pull closed before the end', this.context));
      this.stopSsh();
      callback(failure);
    };
    if (!error || !this.session) return settle(error);
    void causeOf(error, this.session, this.context, this.noise).then(settle);
  }
}
