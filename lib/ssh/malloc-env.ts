// glibc's malloc gives every buffer over 128 KiB a mapping of its own, fresh pages from the
// system, and unmaps it when it is freed. OpenSSH grows its channel buffers 32 KiB at a time,
// each step a new buffer and a copy of the old one, so a busy ssh keeps touching fresh pages.
// Where the host serves a fresh page's first fault itself (a microVM with free page reporting:
// 20 µs a page here, against 0.2 µs for a page touched before) that was most of ssh's CPU: 256
// MiB pulled into a pipe cost the ssh client 2.1–2.4 CPU-s, and 0.7 with these settings, which
// keep buffers of up to 32 MiB in the heap and freed memory there to be used again. They cost
// ssh nothing elsewhere (its heap keeps its largest buffers), and other C libraries ignore them.
const SETTINGS = {
  MALLOC_MMAP_THRESHOLD_: String(32 << 20),
  MALLOC_TRIM_THRESHOLD_: String(128 << 20),
};

/**
 * The environment sshstream adds for the ssh processes it starts (see above): none where the
 * user already tunes malloc (`GLIBC_TUNABLES` or either variable), whose choice stands.
 */
export function sshMallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const tuned = ['GLIBC_TUNABLES', ...Object.keys(SETTINGS)].some(
    (name) => env[name] !== undefined,
  );
  return tuned ? {} : { ...SETTINGS };
}
