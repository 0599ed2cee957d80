import { Writable } from 'node:stream';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { destroyOnAbort } from '../util/abort.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { debug } from '../util/debug.js';
import { AbortError, type ErrorContext } from '../util/errors.js';
import { createDeferred } from '../util/deferred.js';
import { verifiedResult } from '../util/result.js';
import type { AnyListener, Listener, OtherEvent } from '../util/stream-events.js';
import {
  stallError,
  stallTimeoutOf,
  watchStall,
  type ProgressProbe,
  type StallWatch,
} from '../util/stall-watchdog.js';
import type { Target } from '../ssh/target.js';
import { commitPush } from './commit.js';
import { connectPush } from './connect.js';
import { chooseDelivery, startPushSession } from './choose-delivery.js';
import type { DataSession } from './data-session.js';
import type { Delivery, DeliveryEvents } from './delivery.js';
import {
  checkPush,
  INLINE_LIMIT,
  type PushInternals,
  type PushOptions,
  type PushResult,
} from './options.js';
import type { Span } from './ranges-plan.js';
import { landedRanges, resumeOffset } from './resume.js';
import { tearDownPush } from './teardown.js';

/** The events a PushStream emits of its own (see the class), and their listeners' arguments. */
export type PushStreamEvents = { connected: []; verify: [] };

// Typed `push.on('verify', ...)` (see stream-events.ts): merged into the class below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PushStream {
  on<E extends keyof PushStreamEvents>(event: E, listener: Listener<PushStreamEvents, E>): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on<E extends string | symbol>(
    event: OtherEvent<E, PushStreamEvents>,
    listener: AnyListener,
  ): this;
  once<E extends keyof PushStreamEvents>(event: E, listener: Listener<PushStreamEvents, E>): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once<E extends string | symbol>(
    event: OtherEvent<E, PushStreamEvents>,
    listener: AnyListener,
  ): this;
}

/**
 * The Writable returned by createPushStream; `result` settles once the file is committed or not.
 * Emits `'connected'` once ssh has authenticated and the remote side is ready (until then ssh
 * may be asking on the terminal for a password or a host key), and `'verify'` once every byte
 * has landed and the commit starts.
 *
 * The push itself is a sequence of small parts: connect (connect.ts), resume (resume.ts), one
 * Delivery that carries the bytes (inline, piped, direct, auto-compressed), commit (commit.ts).
 * This class only orders them and reacts to failures.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PushStream extends Writable {
  /** Resolves after the remote file is verified and renamed into place; rejects otherwise. */
  readonly result: Promise<PushResult>;
  private readonly target: Target;
  private readonly context: ErrorContext;
  private readonly algorithm: ChecksumAlgorithm;
  private readonly started = performance.now();
  private control: ControlConnection | undefined;
  private delivery: Delivery | undefined;
  // The data session, once one runs (it may start before the delivery: see open()).
  private session: DataSession | undefined;
  private stall: StallWatch | undefined;
  private skip = 0;
  private landed: Span[] = [];
  // What moves the bytes, for progress (see moved) and the stall watchdog.
  private progress: ProgressProbe | undefined;
  // Set once _final runs: from then on finish() reports failures itself, with the right class.
  private finishing = false;
  private committed = false;
  // Aborted by a destroy that comes while the push connects (see destroy).
  private readonly connecting = new AbortController();
  private opened = false;
  private readonly settled = createDeferred<PushResult>();

  /** `internals` are for this package's own push functions (see PushInternals). */
  constructor(
    target: string,
    private readonly options: PushOptions = {},
    private readonly internals: PushInternals = {},
  ) {
    // Bad arguments throw here, synchronously, before the stream schedules any work.
    const checked = checkPush(target, { ...options, ...internals });
    super({ highWaterMark: 1 << 20 });
    this.target = checked.target;
    this.context = checked.context;
    this.algorithm = options.checksum ?? 'md5';
    this.result = this.settled.promise;
    destroyOnAbort(this, options.signal, this.context);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.open().then(
      () => {
        this.opened = true;
        callback();
      },
      // Destroyed meanwhile: the destroy's error is the one to report, not how connecting ended.
      (error: Error) => {
        this.opened = true;
        callback(this.destroyed ? null : error);
      },
    );
  }

  // Node holds a destroy back until _construct has called back, and connecting can last
  // minutes (a silent server, a prompt nobody answers): ssh is stopped now, so it goes through.
  override destroy(error?: Error): this {
    if (!this.opened) this.connecting.abort(error);
    return super.destroy(error);
  }

  private async open(): Promise<void> {
    const { options, internals } = this;
    // The data session starts as soon as ssh has authenticated, so its start-up overlaps the
    // control script's checks; it waits for our "go" line before it touches any file. Auto
    // compression needs the format first, chosen once a sample of the input is here.
    const startEarly = (control: ControlConnection) => {
      if (options.compress !== 'auto' && !internals.direct && !this.fitsInline()) {
        const where = { control, target: this.target, options, context: this.context };
        this.session = startPushSession(where, options.compress);
      }
    };
    const control = await connectPush(
      this.target,
      options,
      this.context,
      this.connecting.signal,
      startEarly,
    );
    this.control = control;
    if (this.destroyed) return; // cleanup (after this returns) closes the connection
    this.emit('connected');
    void control.lost(() => this.running).then((failure) => failure && this.destroy(failure));
    if (options.resume) {
      const partial = Number(control.ready.fields[0] ?? 0);
      const { direct, resumeSource } = internals;
      if (direct) {
        // A file read by offset resumes range by range (see RangesDelivery).
        const source = resumeSource ?? direct.fd;
        this.landed = await landedRanges(control, partial, source, this.algorithm);
        this.skip = this.landed.reduce((sum, span) => sum + span.length, 0);
      } else {
        this.skip = await resumeOffset(control, partial, resumeSource, this.algorithm);
      }
    }
    this.delivery = await chooseDelivery({
      control,
      target: this.target,
      options,
      internals,
      algorithm: this.algorithm,
      context: this.context,
      skip: this.skip,
      landed: this.landed,
      early: this.session,
      small: this.fitsInline(),
      events: this.events,
    });
  }

  private readonly events: DeliveryEvents = {
    sessionStarted: (session: DataSession, progress: ProgressProbe) => {
      this.session = session;
      this.watch(session.done, progress);
    },
    transferStarted: (failed: Promise<void>, progress: ProgressProbe) => {
      this.watch(failed, progress);
    },
  };

  private watch(failed: Promise<void>, progress: ProgressProbe): void {
    this.progress = progress;
    // A data session failing before the input ends fails the push at once.
    failed.catch((error: Error) => this.running && this.destroy(error));
    // Data ready to go and none moving for the stall timeout fails the push (retryable).
    // After the last byte left, ssh's keep-alives watch the link (see keepAliveOptions).
    const ms = stallTimeoutOf(this.options);
    this.stall = watchStall(ms, progress, () => {
      if (!this.destroyed) this.destroy(stallError(ms, this.context));
    });
  }

  /**
   * Bytes the remote side has taken so far, where the delivery can tell (a push that reads its
   * file itself has no chunks passing through the stream to count); undefined before.
   */
  get moved(): number | undefined {
    return this.progress?.moved();
  }

  // Until the input ends, failures are this stream's to report; after that, finish() reports them.
  private get running(): boolean {
    return !this.finishing && !this.destroyed;
  }

  // Whether the whole input is already here and small: compression or a rate limit would not
  // matter for it; a resumable push keeps the data session's partial-file handling.
  private fitsInline(): boolean {
    const { resume, limitRate } = this.options;
    return (
      !resume &&
      !limitRate &&
      !this.internals.direct &&
      this.writableEnded &&
      this.writableLength <= INLINE_LIMIT
    );
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.delivery!.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  private async finish(): Promise<void> {
    this.finishing = true;
    debug('push: input ended');
    const delivery = this.delivery!;
    const local = await delivery.end();
    this.stall?.stop();
    await this.options.beforeCommit?.(local.bytes);
    this.emit('verify');
    const control = this.control!;
    const note = () => delivery.mismatchNote?.() ?? '';
    await commitPush(control, local, this.algorithm, this.context, note);
    this.committed = true;
    await control.close();
    this.settled.resolve(
      verifiedResult({
        target: this.target.display,
        ...local,
        algorithm: this.algorithm,
        started: this.started,
        compress: delivery.compress,
        resumed: this.skip,
      }),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const failure = error ?? new AbortError('push aborted before the end of input', this.context);
    // `result` settles only after cleanup, so whoever awaits it knows the remote side is clean.
    const done = () => {
      this.settled.reject(failure);
      callback(error);
    };
    this.stall?.stop();
    const { control, delivery, session, committed } = this;
    const parts = { control, delivery, session, committed, resume: this.options.resume === true };
    tearDownPush(parts, failure).then(done, done);
  }
}
