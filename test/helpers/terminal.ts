import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A command running on a real terminal (a detached tmux pane), with everything it wrote kept. */
export interface Terminal {
  /** Every byte written to the terminal so far (tmux pipe-pane), as latin1 text. */
  written(): Promise<string>;
  /** The visible screen, one string per line (tmux capture-pane). */
  screen(): Promise<string>;
  /** Types `text` and Enter. */
  type(text: string): Promise<void>;
  /** Polls written() until `test` holds; throws after `ms`. */
  waitFor(test: (written: string) => boolean, what: string, ms?: number): Promise<string>;
  /** Kills the tmux server of this terminal. */
  stop(): Promise<void>;
}

/**
 * Runs `command` (a sh command line) in `dir` on a fresh tmux terminal of its own (own server
 * socket), 200 columns wide. The command starts only once recording has begun.
 */
export async function startTerminal(dir: string, command: string): Promise<Terminal> {
  const socket = `sshstream-test-${randomBytes(6).toString('hex')}`;
  const log = join(dir, `${socket}.log`);
  await writeFile(log, '');
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args]);
  const go = join(dir, `${socket}.go`);
  // The pane waits for the go file, so nothing it writes escapes the recording.
  const script = `while [ ! -e '${go}' ]; do sleep 0.05; done; cd '${dir}' && ${command}; echo "[exit $?]"; sleep 600`;
  await tmux('new-session', '-d', '-x', '200', '-y', '50', 'sh', '-c', script);
  await tmux('pipe-pane', '-o', `cat >> '${log}'`);
  await writeFile(go, '');
  const written = async () => (await readFile(log)).toString('latin1');
  return {
    written,
    screen: async () => (await tmux('capture-pane', '-p')).stdout,
    type: async (text) => {
      await tmux('send-keys', '-l', text);
      await tmux('send-keys', 'Enter');
    },
    waitFor: async (test, what, ms = 180_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const text = await written();
        if (test(text)) return text;
        if (Date.now() > deadline) {
          throw new Error(`terminal: no ${what} after ${ms} ms; written: ${JSON.stringify(text)}`);
        }
        await sleep(100);
      }
    },
    stop: async () => {
      await tmux('kill-server').catch(() => {});
    },
  };
}
