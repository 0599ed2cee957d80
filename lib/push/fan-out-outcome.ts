import { EXIT_CODES, SshStreamError, exitCodeOf } from '../util/errors.js';
import type { PushResult } from './options.js';

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

/** The outcome of a target whose push settles with `result`. */
export function outcomeOf(target: string, result: Promise<PushResult>): Promise<TargetOutcome> {
  return result.then(
    (value) => ({ target, ok: true as const, result: value }),
    (error: Error) => ({ target, ok: false as const, error, exitCode: exitCodeOf(error) }),
  );
}
