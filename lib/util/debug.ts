// SSHSTREAM_DEBUG=1 prints when each step of a transfer happens, for finding where time goes.
const enabled = process.env['SSHSTREAM_DEBUG'] === '1';

/** Prints `label` with the milliseconds since the process started on stderr when SSHSTREAM_DEBUG=1. */
export function debug(label: string): void {
  if (enabled) process.stderr.write(`sshstream[${performance.now().toFixed(1)}ms] ${label}\n`);
}
