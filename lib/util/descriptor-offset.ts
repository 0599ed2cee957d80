import { readFileSync } from 'node:fs';

/**
 * The current offset of descriptor `fd` (from /proc/self/fdinfo), where the system tells it:
 * how far a child that shares the descriptor (ssh reading or writing a file) has got.
 */
export function descriptorOffset(fd: number): number | undefined {
  try {
    const pos = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return pos ? Number(pos[1]) : undefined;
  } catch {
    return undefined;
  }
}
