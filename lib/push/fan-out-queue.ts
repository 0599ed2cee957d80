import { createReadStream } from 'node:fs';
import type { Duplex, Writable } from 'node:stream';
import { connectedOrDone } from './connected-or-done.js';
import { LocalIOError, SshStreamError } from '../util/errors.js';
import { pipeThrough } from '../util/pipe-through.js';
import { outcomeOf, type TargetOutcome } from './fan-out-outcome.js';
import type { PushInternals, PushOptions } from './options.js';
import type { PushStream } from './push-stream.js';
import { pushSpooled, readableBySsh } from './spool.js';

/** A fan-out's connection slots: at most so many targets run at once. */
export class Slots {
  private readonly waiting: Array<() => void> = [];

  constructor(private free: number) {}

  /** Resolves once a slot is this caller's. */
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back, to the longest waiting caller if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

/** A fan-out of its own for a group of targets, fed by a reading of the spool. */
type GroupStream = Writable & { readonly result: Promise<TargetOutcome[]> };

/** What the targets waiting for a slot need to run once the input is spooled. */
export interface Queue {
  targets: readonly string[];
  /** The local copy of the whole input. */
  file: string;
  /** Each target's options (the fan-out's signal included). */
  options: PushOptions;
  /** The input's digest, which every target is verified against. */
  internals: PushInternals;
  slots: Slots;
  groupSize: number;
  /** Authenticate one target at a time (ssh may be asking on the terminal). */
  oneAtATime: boolean;
  /** Transforms between the spool and a group (see FanOutOptions.spoolThrough). */
  through: (() => Duplex[]) | undefined;
  /** A fan-out of `targets` with `options` (all at once: as many slots are taken). */
  group: (
    targets: string[],
    options: PushOptions & { connectOneAtATime: boolean },
    internals: PushInternals,
  ) => GroupStream;
  /** Called with each outcome as it comes. */
  report: (outcome: TargetOutcome) => void;
}

/**
 * Pushes the spool to every waiting target and resolves with their outcomes, in order. Where
 * ssh can read it by itself, each target starts as soon as a slot is free, and costs no
 * buffers here; otherwise the targets go in groups that share one reading of the spool.
 */
export async function runQueue(queue: Queue): Promise<TargetOutcome[]> {
  if (await readableBySsh(queue.file, queue.options)) {
    let turn = Promise.resolve();
    return Promise.all(
      queue.targets.map(async (target) => {
        await queue.slots.acquire();
        // Taking turns, each waits for the one before it to have authenticated (or failed).
        const before = turn;
        let passTurn!: () => void;
        turn = new Promise((resolve) => (passTurn = resolve));
        try {
          if (queue.oneAtATime) await before;
          const watch = (stream: PushStream) => void connectedOrDone(stream).then(passTurn);
          return await reported(
            queue,
            target,
            pushSpooled(queue.file, target, queue.options, queue.internals.digestSource, watch),
          );
        } finally {
          passTurn(); // it failed before it had a stream
          queue.slots.release();
        }
      }),
    );
  }
  const outcomes: TargetOutcome[] = [];
  for (let start = 0; start < queue.targets.length; start += queue.groupSize) {
    const group = queue.targets.slice(start, start + queue.groupSize);
    for (const _ of group) await queue.slots.acquire();
    try {
      outcomes.push(...(await pushGroup(queue, group)));
    } finally {
      for (const _ of group) queue.slots.release();
    }
  }
  return outcomes;
}

// A group is fed as the first targets were fed by the input: a chunk read once is shared by
// all, the slowest of the group sets the pace.
async function pushGroup(queue: Queue, group: string[]): Promise<TargetOutcome[]> {
  const { options, file } = queue;
  const stream = queue.group(
    group,
    { ...options, connectOneAtATime: queue.oneAtATime },
    { ...queue.internals, ...(options.resume ? { resumeSource: file } : {}) },
  );
  stream.on('outcome', queue.report);
  // Each target's failure is in its outcome; a failed reading of the copy fails them all.
  await pipeThrough(createReadStream(file), queue.through?.() ?? [], stream).catch(() => {});
  return stream.result.catch((error: Error) => {
    const cause =
      error instanceof SshStreamError
        ? error
        : new LocalIOError(`cannot read the local copy of the input: ${error.message}`, {
            operation: 'push',
            cause: error,
          });
    return Promise.all(group.map((target) => reported(queue, target, Promise.reject(cause))));
  });
}

async function reported(
  queue: Queue,
  target: string,
  result: Parameters<typeof outcomeOf>[1],
): Promise<TargetOutcome> {
  const outcome = await outcomeOf(target, result);
  queue.report(outcome);
  return outcome;
}
