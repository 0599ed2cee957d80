import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setMaxListeners } from 'node:events';
import {
  AbortError,
  EXIT_CODES,
  LocalIOError,
  SshStreamError,
  UsageError,
  exitCodeOf,
} from '../util/errors.js';
import { parseTarget } from '../ssh/target.js';
import { destroyOnAbort } from '../util/abort.js';
import { PushStream } from './push-stream.js';
import type { PushOptions, PushResult } from './options.js';
import { mayPrompt } from '../ssh/terminal.js';
import { pushWithRetries } from './push-with-retries.js';

/** Options of a push to several targets. */
export interface FanOutOptions extends PushOptions {
  /**
   * At most this many connections at once (default 16). Targets beyond it wait for a free slot
   * and are then fed from a local temporary copy of the input, kept until all are done.
   */
  maxParallel?: number | undefined;
  /**
   * Authenticate the targets one at a time, and send data to all of them only then: ssh may
   * be asking for a password or a host key on the terminal, and N questions at once cannot be
   * answered. Default: when this process has a controlling terminal.
   */
  connectOneAtATime?: boolean | undefined;
}

/** How one target of a fan-out ended. */
export type TargetOutcome =
  | { target: string; ok: true; result: PushResult }
  | { target: string; ok: false; error: Error; exitCode: number };

/** How many failed targets a FanOutError's message names (`outcomes` has them all). */
const SHOWN_FAILURES = 3;

/** Some (exit 6) or all targets of a fan-out failed; `outcomes` says which and why. */
export class FanOutError extends SshStreamError {
  readonly outcomes: TargetOutcome[];
  constructor(outcomes: TargetOutcome[]) {
    const failed = outcomes.filter((outcome) => !outcome.ok);
    const codes = new Set(failed.map((outcome) => (outcome.ok ? 0 : outcome.exitCode)));
    const allFailed = failed.length === outcomes.length;
    const exitCode = allFailed && codes.size === 1 ? [...codes][0]! : EXIT_CODES.partial;
    // The first few causes only: the message is one line, whatever the number of targets.
    const shown = failed.slice(0, SHOWN_FAILURES);
    const more = failed.length - shown.length;
    super(
      'ERR_SSHSTREAM_PARTIAL',
      exitCode,
      `${failed.length} of ${outcomes.length} targets failed: ` +
        shown.map((outcome) => (outcome.ok ? '' : outcome.error.message)).join('; ') +
        (more > 0 ? `; and ${more} more` : ''),
      { operation: 'push' },
    );
    this.outcomes = outcomes;
  }
}

const DEFAULT_MAX_PARALLEL = 16;

/**
 * The Writable returned by createPushStream for several targets. The input is read once and
 * written to every target at the same time; the slowest healthy target sets the pace, and a
 * target that fails is dropped without stopping the others. Each target is verified and
 * committed on its own. The stream finishes when every target has; it errors with FanOutError
 * if any failed. `result` resolves with one outcome per target, in the order given. Emits
 * `'connected'` once every target that runs from the start has authenticated (or failed).
 */
export class FanOutPushStream extends Writable {
  /** One outcome per target, once all are done (rejects only when aborted). */
  readonly result: Promise<TargetOutcome[]>;
  private readonly live: PushStream[] = [];
  private readonly hash: Hash | undefined;
  private readonly digestSource: () => Promise<string>;
  private readonly queued: string[];
  private readonly outcomes: Array<Promise<TargetOutcome>> = [];
  // Targets connected in turn by _construct (connectOneAtATime), before any data is written.
  private readonly inTurn: string[];
  private readonly perTarget: PushOptions;
  private spool: { dir: string; file: string; stream: WriteStream } | undefined;
  // Why the local copy for queued targets could not be written ($TMPDIR full, say).
  private spoolError: Error | undefined;
  private slots: number;
  private readonly waiting: Array<() => void> = [];
  // Stops every target when this stream is destroyed: one listener on the caller's signal
  // (through destroyOnAbort), not one per target.
  private readonly stopTargets: AbortController;
  private resolveResult!: (outcomes: TargetOutcome[]) => void;
  private rejectResult!: (error: Error) => void;

  constructor(
    targets: readonly string[],
    private readonly options: FanOutOptions = {},
  ) {
    if (targets.length === 0) throw new UsageError('no targets', { operation: 'push' });
    const maxParallel = options.maxParallel ?? DEFAULT_MAX_PARALLEL;
    if (!Number.isInteger(maxParallel) || maxParallel < 1) {
      throw new UsageError(`max parallel must be a whole number >= 1, not ${maxParallel}`);
    }
    const { signal, ...rest } = options;
    // The input is hashed once here for every target; each target only counts its bytes.
    const algorithm = options.checksum ?? 'md5';
    const hash = algorithm === 'none' ? undefined : createHash(algorithm);
    let digest: Promise<string> | undefined;
    const digestSource = () => (digest ??= Promise.resolve(hash ? hash.digest('hex') : ''));
    const stopTargets = new AbortController();
    setMaxListeners(0, stopTargets.signal); // one listener per target, by design
    const perTarget = { ...rest, signal: stopTargets.signal };
    // Every target is checked before any connects: one bad target refuses the whole command,
    // and no ssh is left running behind the error. (A PushStream starts ssh once constructed,
    // and its other checks concern the options, shared by all: the first one throws alone.)
    for (const target of targets) parseTarget(target, 'push');
    const first = targets.slice(0, maxParallel);
    const inTurn = first.length > 1 && (options.connectOneAtATime ?? mayPrompt());
    const live = inTurn
      ? []
      : first.map((target) => new PushStream(target, perTarget, { digestSource }));
    super({ highWaterMark: 1 << 20 });
    this.hash = hash;
    this.stopTargets = stopTargets;
    this.digestSource = digestSource;
    this.perTarget = perTarget;
    this.inTurn = inTurn ? first : [];
    this.queued = targets.slice(maxParallel);
    this.slots = maxParallel - first.length;
    live.forEach((stream, index) => this.adopt(first[index]!, stream));
    if (!inTurn) {
      void Promise.all(live.map(connectedOrDone)).then(() => this.emit('connected'));
    }
    this.result = new Promise((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    this.result.catch(() => {});
    destroyOnAbort(this, signal, { operation: 'push' });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.connectInTurn().then(
      () => this.makeSpool(callback),
      (error: Error) => callback(error),
    );
  }

  // One target after another: each starts once the one before has authenticated or failed.
  // An abort ends the wait at once (destroy() itself waits for _construct to finish).
  private async connectInTurn(): Promise<void> {
    if (this.inTurn.length === 0) return;
    const signal = this.options.signal;
    const stop = () => this.stopTargets.abort(signal?.reason);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for (const target of this.inTurn) {
        if (this.stopTargets.signal.aborted) break;
        const stream = new PushStream(target, this.perTarget, { digestSource: this.digestSource });
        this.adopt(target, stream);
        await connectedOrDone(stream);
      }
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    this.emit('connected');
  }

  // A live target: its outcome is recorded, and its slot is freed when it ends.
  private adopt(target: string, stream: PushStream): void {
    this.live.push(stream);
    this.outcomes.push(this.outcomeOf(target, stream.result));
    stream.on('error', () => {});
    void stream.result.finally(() => this.release()).catch(() => {});
  }

  private makeSpool(callback: (error?: Error | null) => void): void {
    if (this.queued.length === 0) return callback();
    mkdtemp(join(tmpdir(), 'sshstream-spool-')).then((dir) => {
      const file = join(dir, 'input');
      const stream = createWriteStream(file, { mode: 0o600 });
      // A failed spool fails the queued targets only; the live ones carry on.
      stream.on('error', (error) => (this.spoolError ??= error));
      this.spool = { dir, file, stream };
      callback();
    }, callback);
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.hash?.update(chunk);
    const writes = this.healthy().map((stream) => writeTo(stream, chunk));
    if (this.spool && !this.spoolError) writes.push(writeTo(this.spool.stream, chunk));
    Promise.all(writes).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    for (const stream of this.healthy()) stream.end();
    this.drainQueue()
      .then(async (queued) => {
        const outcomes = [...(await Promise.all(this.outcomes)), ...queued];
        this.resolveResult(outcomes);
        callback(outcomes.every((outcome) => outcome.ok) ? null : new FanOutError(outcomes));
      })
      .catch(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.rejectResult(
      error ?? new AbortError('push aborted before the end of input', { operation: 'push' }),
    );
    for (const stream of this.live) stream.destroy(error ?? undefined);
    this.stopTargets.abort(error?.name === 'AbortError' ? this.options.signal?.reason : undefined);
    const spool = this.spool;
    spool?.stream.destroy();
    Promise.allSettled(this.live.map((stream) => stream.result))
      .then(() => (spool ? rm(spool.dir, { recursive: true, force: true }) : undefined))
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
    if (!this.spoolError) {
      await new Promise<void>((resolve) => {
        spool.stream.once('error', () => resolve());
        spool.stream.end(() => resolve());
      });
    }
    const spoolError = this.spoolError;
    if (spoolError) {
      await rm(spool.dir, { recursive: true, force: true });
      return Promise.all(
        this.queued.map((target) =>
          this.outcomeOf(
            target,
            Promise.reject(
              new LocalIOError(
                `cannot keep the local copy of the input this target waited for: ${spoolError.message}`,
                { operation: 'push', target, cause: spoolError },
              ),
            ),
          ),
        ),
      );
    }
    const { maxParallel: _max, ...options } = this.options;
    const perTarget = { ...options, signal: this.stopTargets.signal };
    const internals = { digestSource: this.digestSource };
    const outcomes = await Promise.all(
      this.queued.map(async (target) => {
        await this.acquire();
        try {
          return await this.outcomeOf(
            target,
            pushWithRetries(spool.file, target, perTarget, internals),
          );
        } finally {
          this.release();
        }
      }),
    );
    await rm(spool.dir, { recursive: true, force: true });
    return outcomes;
  }

  private async outcomeOf(target: string, result: Promise<PushResult>): Promise<TargetOutcome> {
    const outcome: TargetOutcome = await result.then(
      (value) => ({ target, ok: true as const, result: value }),
      (error: Error) => ({ target, ok: false as const, error, exitCode: exitCodeOf(error) }),
    );
    this.emit('outcome', outcome);
    return outcome;
  }

  private acquire(): Promise<void> {
    if (this.slots > 0) {
      this.slots -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.slots += 1;
  }
}

// Resolves once `stream` has authenticated, or has ended without.
function connectedOrDone(stream: PushStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('connected', () => resolve());
    stream.result.then(
      () => resolve(),
      () => resolve(),
    );
  });
}

// Resolves when `stream` can take more: at once, on 'drain', or when it failed (then it is
// simply dropped from the fan-out).
function writeTo(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
