import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import { destroyOnAbort } from '../util/abort.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { debug } from '../util/debug.js';
import { AbortError, type ErrorContext } from '../util/errors.js';
import { createDeferred } from '../util/deferred.js';
import { OpeningWritable } from '../util/opening-writable.js';
import { verifiedResult } from '../util/result.js';
import type { AnyListener, Listener, OtherEvent } from '../util/stream-events.js';
import { stallError, stallTimeoutOf, type ProgressProbe } from '../util/stall-watchdog.js';
import type { Target } from '../ssh/target.js';
import { commitPush } from './commit.js';
import { connectPush } from './connect.js';
import {
  chooseDelivery,
  lanesBeforeConnecting,
  openLanesAfterLongLogin,
  startPushSession,
} from './choose-delivery.js';
import type { DataSession } from './data-session.js';
import type { Delivery, DeliveryEvents } from './delivery.js';
import { DeliveryWatch } from './delivery-watch.js';
import {
  checkPush,
  fitsInline,
  type PushInternals,
  type PushOptions,
  type PushResult,
} from './options.js';
import { resumePoint } from './resume.js';
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
export class PushStream extends OpeningWritable {
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
  private readonly watch: DeliveryWatch;
  private skip = 0;
  // Set once _final runs: from then on finish() reports failures itself, with the right class.
  private finishing = false;
  private committed = false;
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
    const ms = stallTimeoutOf(options);
    this.watch = new DeliveryWatch(ms, (error) => {
      if (error ? this.running : !this.destroyed)
        this.destroy(error ?? stallError(ms, this.context));
    });
    destroyOnAbort(this, options.signal, this.context);
  }

  // Connects (see OpeningWritable: a destroy meanwhile stops ssh at once).
  protected override async open(signal: AbortSignal): Promise<void> {
    const { options, internals } = this;
    // The data session starts as soon as ssh has authenticated, so its start-up overlaps the
    // control script's checks; it waits for our "go" line before it touches any file. Auto
    // compression needs the format first, chosen once a sample of the input is here.
    const startEarly = (control: ControlConnection) => {
      openLanesAfterLongLogin(control, options, internals);
      if (options.compress !== 'auto' && !internals.direct && !this.fitsInline()) {
        const where = { control, target: this.target, options, context: this.context };
        this.session = startPushSession(where, options.compress);
      }
    };
    const lanes = lanesBeforeConnecting(options, internals);
    const control = await connectPush(
      this.target,
      options,
      this.context,
      signal,
      startEarly,
      lanes,
    );
    this.control = control;
    if (this.destroyed) return; // cleanup (after this returns) closes the connection
    this.emit('connected');
    void control.lost(() => this.running).then((failure) => failure && this.destroy(failure));
    const resumed = await resumePoint(control, options.resume, internals, this.algorithm);
    this.skip = resumed.skip;
    this.delivery = await chooseDelivery({
      control,
      target: this.target,
      options,
      internals,
      algorithm: this.algorithm,
      context: this.context,
      ...resumed,
      early: this.session,
      small: this.fitsInline(),
      events: this.events,
    });
  }

  private readonly events: DeliveryEvents = {
    sessionStarted: (session: DataSession, progress: ProgressProbe) => {
      this.session = session;
      this.watch.watch(session.done, progress);
    },
    transferStarted: (failed: Promise<void>, progress: ProgressProbe) => {
      this.watch.watch(failed, progress);
    },
  };

  /**
   * Bytes the remote side has taken so far, where the delivery can tell (a push that reads its
   * file itself has no chunks passing through the stream to count); undefined before.
   */
  get moved(): number | undefined {
    return this.watch.moved;
  }

  // Until the input ends, failures are this stream's to report; after that, finish() reports them.
  private get running(): boolean {
    return !this.finishing && !this.destroyed;
  }

  private fitsInline(): boolean {
    return fitsInline(this.options, this.internals, this.writableEnded, this.writableLength);
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
    this.watch.stop();
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
    this.watch.stop();
    const { control, delivery, session, committed } = this;
    const parts = { control, delivery, session, committed, resume: this.options.resume === true };
    tearDownPush(parts, failure).then(done, done);
  }
}
