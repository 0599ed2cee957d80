import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Whether this process was started with stdout closed (`sshstream pull h:f >&-`). Node then
 * opens /dev/null read-write in its place, which a shell redirection (`>/dev/null`, write-only)
 * never does; Linux shows both through /proc. Elsewhere the answer is false.
 */
export function stdoutWasClosed(): boolean {
  try {
    if (readlinkSync('/proc/self/fd/1') !== '/dev/null') return false;
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))?.[1];
    // O_ACCMODE is 3; O_RDWR is 2.
    return flags !== undefined && (parseInt(flags, 8) & 3) === 2;
  } catch {
    return false;
  }
}
