// SSHSTREAM_DEBUG=1 prints when each step of a transfer happens, for finding where time goes.
const enabled = process.env['SSHSTREAM_DEBUG'] === '1';
const origin = performance.now();

/** Prints `label` with the milliseconds since start-up on stderr when SSHSTREAM_DEBUG=1. */
export function debug(label: string): void {
  if (enabled)
    process.stderr.write(`sshstream[${(performance.now() - origin).toFixed(1)}ms] ${label}\n`);
}
