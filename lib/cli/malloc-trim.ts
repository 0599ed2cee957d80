// glibc's malloc gives memory back to the system whenever 128 KiB lie free at the top of its
// heap (M_TRIM_THRESHOLD), and takes fresh pages again for the next buffers. A transfer through
// node frees a 64 KiB buffer for every chunk read, so its heap shrinks and grows all the time;
// where a fresh page's first touch is dear (20 µs here, see ssh/malloc-env.ts) that showed as
// system CPU of node. ssh gets settings of its own through its environment, but node has started
// before the CLI could set any. glibc raises the threshold by itself, to twice the size, when a
// block it had mapped on its own (over M_MMAP_THRESHOLD, at first 128 KiB) is freed: one 16 MiB
// buffer, never touched and collected, sets it to 32 MiB. Where the user tuned malloc, glibc
// keeps their settings fixed and ignores this; other C libraries ignore it too.
const BLOCK = 16 << 20;
let dropped = false;

/**
 * Allocates, and drops, the untouched block that raises glibc's trim threshold once the next
 * GC frees it; once per process, as the threshold is. For the CLI's own process only: a
 * library must not tune its user's malloc.
 */
export function dropMallocBlock(): void {
  if (dropped) return;
  dropped = true;
  Buffer.allocUnsafeSlow(BLOCK);
}
