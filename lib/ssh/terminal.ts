import { closeSync, openSync } from 'node:fs';

let answer: boolean | undefined;

/**
 * Whether ssh may ask questions (password, passphrase, host key) on a terminal: this process
 * has a controlling terminal, which ssh opens as /dev/tty to prompt. Then connections that may
 * prompt are made one at a time.
 */
export function mayPrompt(): boolean {
  if (answer === undefined) {
    try {
      closeSync(openSync('/dev/tty', 'r'));
      answer = true;
    } catch {
      answer = false;
    }
  }
  return answer;
}
