import type { Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { setMaxListeners } from 'node:events';
import { AbortError, UsageError } from '../util/errors.js';
import { sharedDigest } from './fan-out-digest.js';
import {
  DEFAULT_MAX_PARALLEL,
  maxParallelOf,
  streamsPerTarget,
  type FanOutOptions,
} from './fan-out-options.js';
import { connectInTurn } from './fan-out-turns.js';
import { parseTarget } from '../ssh/target.js';
import { destroyOnAbort } from '../util/abort.js';
import { createDeferred } from '../util/deferred.js';
import type { AnyListener, Listener, OtherEvent } from '../util/stream-events.js';
import { connectedOrDone } from './connected-or-done.js';
import { FanOutError, outcomeOf, type TargetOutcome } from './fan-out-outcome.js';
import { runQueue, Slots } from './fan-out-queue.js';
import type { PushInternals, PushOptions, PushResult } from './options.js';
import { PushStream } from './push-stream.js';
import { Spool, spoolLost, writeTo } from './spool.js';
import { mayPrompt } from '../ssh/terminal.js';

/** The events a FanOutPushStream emits of its own (see the class): `'outcome'` as each target ends. */
export type FanOutEvents = { connected: []; outcome: [outcome: TargetOutcome] };

// Typed `on`/`once` for them (see stream-events.ts): merged into the class below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface FanOutPushStream {
  on<E extends keyof FanOutEvents>(event: E, listener: Listener<FanOutEvents, E>): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on<E extends string | symbol>(event: OtherEvent<E, FanOutEvents>, listener: AnyListener): this;
  once<E extends keyof FanOutEvents>(event: E, listener: Listener<FanOutEvents, E>): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once<E extends string | symbol>(event: OtherEvent<E, FanOutEvents>, listener: AnyListener): this;
}

/**
 * The Writable returned by createPushStream for several targets. The input is read once and
 * written to every target at the same time; the slowest healthy target sets the pace, and a
 * target that fails is dropped without stopping the others. Each target is verified and
 * committed on its own. The stream finishes when every target has; it errors with FanOutError
 * if any failed. `result` resolves with one outcome per target, in the order given. Emits
 * `'connected'` once every target that runs from the start has authenticated (or failed).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FanOutPushStream extends Writable {
  private readonly outcome = createDeferred<TargetOutcome[]>();
  /** One outcome per target, once all are done (rejects only when aborted). */
  readonly result: Promise<TargetOutcome[]> = this.outcome.promise;
  private readonly live: PushStream[] = [];
  private readonly hash: Hash | undefined;
  private readonly digestSource: () => Promise<string>;
  private readonly queued: string[];
  private readonly outcomes: Array<Promise<TargetOutcome>> = [];
  // Targets connected in turn by _construct (connectOneAtATime), before any data is written.
  private readonly inTurn: string[];
  private readonly perTarget: PushOptions;
  private readonly oneAtATime: boolean;
  private spool: Spool | undefined;
  private readonly slots: Slots;
  // Stops every target when this stream is destroyed: one listener on the caller's signal
  // (through destroyOnAbort), not one per target.
  private readonly stopTargets: AbortController;

  constructor(
    targets: readonly string[],
    private readonly options: FanOutOptions = {},
    /** For this package's own groups of queued targets (see fan-out-queue.ts). */
    private readonly internals: PushInternals = {},
  ) {
    if (targets.length === 0) throw new UsageError('no targets', { operation: 'push' });
    const maxParallel = maxParallelOf(options);
    const { signal, ...rest } = options;
    const { hash, digestSource } = sharedDigest(options.checksum ?? 'md5', internals.digestSource);
    const stopTargets = new AbortController();
    setMaxListeners(0, stopTargets.signal); // one listener per target, by design
    const perTarget = { ...rest, streams: streamsPerTarget(rest), signal: stopTargets.signal };
    // Every target is checked before any connects: one bad target refuses the whole command,
    // and no ssh is left running behind the error. (A PushStream starts ssh once constructed,
    // and its other checks concern the options, shared by all: the first one throws alone.)
    for (const target of targets) parseTarget(target, 'push');
    const first = targets.slice(0, maxParallel);
    const oneAtATime = options.connectOneAtATime ?? mayPrompt();
    const inTurn = first.length > 1 && oneAtATime;
    const live = inTurn
      ? []
      : first.map((target) => new PushStream(target, perTarget, { ...internals, digestSource }));
    super({ highWaterMark: 1 << 20 });
    this.hash = hash;
    this.stopTargets = stopTargets;
    this.digestSource = digestSource;
    this.perTarget = perTarget;
    this.oneAtATime = oneAtATime;
    this.inTurn = inTurn ? first : [];
    this.queued = targets.slice(maxParallel);
    this.slots = new Slots(maxParallel - first.length);
    live.forEach((stream, index) => this.adopt(first[index]!, stream));
    if (!inTurn) {
      void Promise.all(live.map(connectedOrDone)).then(() => this.emit('connected'));
    }
    destroyOnAbort(this, signal, { operation: 'push' });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.connectInTurn()
      .then(async () => {
        if (this.queued.length > 0) this.spool = await Spool.create();
      })
      .then(() => callback(), callback);
  }

  // Targets that take turns to log in (see fan-out-turns.ts), before any data is written.
  private async connectInTurn(): Promise<void> {
    if (this.inTurn.length === 0) return;
    await connectInTurn(this.inTurn, this.options.signal, this.stopTargets, (target) => {
      const stream = new PushStream(target, this.perTarget, {
        ...this.internals,
        digestSource: this.digestSource,
      });
      this.adopt(target, stream);
      return stream;
    });
    this.emit('connected');
  }

  // A live target: its outcome is recorded, and its slot is freed when it ends.
  private adopt(target: string, stream: PushStream): void {
    this.live.push(stream);
    this.outcomes.push(this.outcomeOf(target, stream.result));
    stream.on('error', () => {});
    void stream.result.finally(() => this.slots.release()).catch(() => {});
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.hash?.update(chunk);
    const writes = this.healthy().map((stream) => writeTo(stream, chunk));
    if (this.spool) writes.push(this.spool.write(chunk));
    Promise.all(writes).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    for (const stream of this.healthy()) stream.end();
    this.drainQueue()
      .then(async (queued) => {
        const outcomes = [...(await Promise.all(this.outcomes)), ...queued];
        this.outcome.resolve(outcomes);
        callback(outcomes.every((outcome) => outcome.ok) ? null : new FanOutError(outcomes));
      })
      .catch(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.outcome.reject(
      error ?? new AbortError('push aborted before the end of input', { operation: 'push' }),
    );
    for (const stream of this.live) stream.destroy(error ?? undefined);
    this.stopTargets.abort(error?.name === 'AbortError' ? this.options.signal?.reason : undefined);
    const spool = this.spool;
    Promise.allSettled(this.live.map((stream) => stream.result))
      .then(() => spool?.remove())
      .then(
        () => callback(error),
        () => callback(error),
      );
  }

  private healthy(): PushStream[] {
    return this.live.filter((stream) => !stream.destroyed && !stream.writableEnded);
  }

  // Queued targets start once the whole input is spooled, each as soon as a slot is free.
  private async drainQueue(): Promise<TargetOutcome[]> {
    const spool = this.spool;
    if (!spool) return [];
    await spool.end();
    const spoolError = spool.error;
    if (spoolError) {
      await spool.remove();
      const lost = (target: string) => Promise.reject(spoolLost(target, spoolError));
      return Promise.all(this.queued.map((target) => this.outcomeOf(target, lost(target))));
    }
    const { maxParallel = DEFAULT_MAX_PARALLEL, spoolThrough, ...options } = this.options;
    const outcomes = await runQueue({
      targets: this.queued,
      file: spool.file,
      options: { ...options, streams: streamsPerTarget(options), signal: this.stopTargets.signal },
      internals: { digestSource: this.digestSource },
      slots: this.slots,
      groupSize: maxParallel,
      oneAtATime: this.oneAtATime,
      through: spoolThrough,
      group: (targets, groupOptions, internals) =>
        new FanOutPushStream(targets, { ...groupOptions, maxParallel: targets.length }, internals),
      report: (outcome) => this.emit('outcome', outcome),
    });
    await spool.remove();
    return outcomes;
  }

  private async outcomeOf(target: string, result: Promise<PushResult>): Promise<TargetOutcome> {
    const outcome = await outcomeOf(target, result);
    this.emit('outcome', outcome);
    return outcome;
  }
}
