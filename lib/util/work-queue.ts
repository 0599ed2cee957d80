import { debug } from './debug.js';

/**
 * Jobs that several lanes take one at a time, in order. A job taken is out until the lane
 * says it is finished or gives it back (another lane then takes it); a lane that finds no job
 * left waits while some are out, since one may come back. `drained` resolves once every job
 * has been taken: a lane still getting ready then (a connection logging in) may find nothing to
 * do and need not be waited for.
 */
class WorkQueue<T> {
  private readonly items: T[];
  private out = 0;
  private stopped = false;
  private waiters: Array<() => void> = [];
  private resolve: () => void = () => {};
  readonly drained = new Promise<void>((resolve) => (this.resolve = resolve));

  constructor(items: Iterable<T>) {
    this.items = [...items];
    if (this.items.length === 0) this.resolve();
  }

  /** The next job; undefined once none is left or out, or once stopped. */
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const item = this.items.shift();
      if (item !== undefined) {
        this.out++;
        if (this.items.length === 0) this.resolve();
        return item;
      }
      if (this.out === 0) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** A job taken is finished (done, or failed for good). */
  finish(): void {
    this.out--;
    this.wake();
  }

  /** A job taken comes back, first in line, for another lane. */
  giveBack(item: T): void {
    this.out--;
    this.items.unshift(item);
    this.wake();
  }

  /** How many jobs wait to be taken. */
  get left(): number {
    return this.items.length;
  }

  /** No job is handed out any more; lanes waiting for one get none. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** How a transfer's lanes carry its jobs (ranges). */
export interface LaneWork<T, Via> {
  /** What lane `lane` carries its jobs over (its connection), once per lane. */
  ready(lane: number, drained: Promise<void>): Promise<Via>;
  /**
   * Carries `job`: resolves undefined once it is carried; resolves with the error to report when
   * the server refused the lane a session before a byte of it moved (sshd MaxSessions: the job
   * goes back to the queue); rejects when it failed otherwise.
   */
  carry(job: T, via: Via, lane: number): Promise<Error | undefined>;
  /** True once the transfer stopped: lanes take no further job. */
  stopped(): boolean;
}

// A lane refused a session while no other lane is left may just have met a slot not yet freed
// by a session that ended a moment before: when a session was had before, it tries again.
const RETRIES = 3;
const RETRY_DELAY_MS = 250;

/**
 * Runs `jobs` on `lanes` lanes, each taking the next job as it finishes one. A lane the server
 * refuses a session (more sessions on one connection than sshd's MaxSessions allows) gives its
 * job back and retires: the transfer goes on, on the lanes allowed. Rejects with the refusal
 * once no lane is left to carry the jobs, and with the first other failure at once (the
 * queue stops; the caller ends the sessions still running).
 */
export async function runLanes<T, Via>(
  label: string,
  jobs: readonly T[],
  lanes: number,
  work: LaneWork<T, Via>,
): Promise<void> {
  const queue = new WorkQueue(jobs);
  let alive = lanes;
  let carried = 0;
  let refusal: Error | undefined;
  const lane = async (index: number): Promise<void> => {
    const via = await work.ready(index, queue.drained);
    let ran = false;
    let turnedAway = false;
    for (let retry = 0; !work.stopped();) {
      const job = await queue.take();
      if (job === undefined || work.stopped()) return;
      const refused = await work.carry(job, via, index).catch((error: unknown) => {
        queue.stop();
        throw error;
      });
      if (refused === undefined) {
        queue.finish();
        ran = true;
        carried++;
        continue;
      }
      queue.giveBack(job);
      refusal = refused;
      turnedAway = true;
      if (alive > 1 || carried === 0 || retry === RETRIES) break;
      retry++;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * retry));
    }
    alive--;
    // (Otherwise the transfer stopped: a failure elsewhere, or the end.)
    if (turnedAway) {
      debug(`${label}: lane ${index} ${ran ? 'retires' : 'never ran'} (refused a session)`);
    }
    // The last lane gone with jobs left: none can be carried.
    if (alive === 0 && queue.left > 0) queue.stop();
  };
  await Promise.all(Array.from({ length: lanes }, (_, index) => lane(index)));
  debug(`${label}: ${carried} ranges carried, on ${alive} of ${lanes} lanes to the end`);
  if (queue.left > 0 && !work.stopped() && refusal) throw refusal;
}
