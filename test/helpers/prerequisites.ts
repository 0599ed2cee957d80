import type { TestContext } from 'node:test';

/**
 * Under CI=true every prerequisite is there (.ci/run installs the packages and runs as root):
 * a test that would be skipped for lack of one must fail instead, or CI would pass on less.
 */
const mustRunAll = process.env.CI === 'true';

/** For a `{ skip }` option: `reason` when not `ready`, never under CI (the test then fails). */
export function skipUnless(ready: boolean, reason: string): string | false {
  return ready || mustRunAll ? false : reason;
}

/** Inside a test whose prerequisite is missing: skips it, or under CI fails it. */
export function skipOrFail(t: Pick<TestContext, 'skip'>, reason: string): void {
  if (mustRunAll) throw new Error(`missing under CI=true: ${reason}`);
  t.skip(reason);
}

/** True when this process runs as root (the tests that log in as other users need it). */
export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Marks a root-only test (another login user, a mount, an sshd setting for another account):
 * true as root; otherwise skips the test, or under CI=true fails it, and returns false.
 */
export function rootOnly(t: Pick<TestContext, 'skip'>, reason = 'needs root'): boolean {
  if (isRoot()) return true;
  skipOrFail(t, reason);
  return false;
}

/** For the `{ skip }` option of a root-only suite that also needs `ready` (busybox, say). */
export function skipUnlessRoot(ready: boolean, reason: string): string | false {
  return skipUnless(isRoot() && ready, reason);
}
