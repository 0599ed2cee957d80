import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sizeLabel } from './args.js';
import { q, sshFlags, type BenchContext } from './context.js';
import { runScript } from './measure.js';
import { remoteOut } from './methods.js';
import { formatSeconds, type Table } from './report.js';
import { proxyContext, WAN_HOST } from './wan-link.js';

/** Where the stall case's link goes silent, and the deadline it runs with. */
const STALL_AFTER = 4 << 20;
const STALL_TIMEOUT_S = 10;

// Temporary files of `name` in `dir` once the remote side has cleaned up: the server notices the
// dropped connection a moment after the client exits, so allow it a few seconds.
async function settledLeftovers(dir: string, name: string): Promise<number> {
  let count = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    count = (await readdir(dir)).filter((entry) => entry.startsWith(`.${name}.`)).length;
    if (count === 0) break;
    await sleep(250);
  }
  return count;
}

/**
 * The stall case: sshstream push through a delay proxy at `delayMs` one way that goes silent
 * after STALL_AFTER bytes, once per round: seconds until it exits, exit code, destination
 * intact, temporary files left.
 */
export async function runStall(
  context: BenchContext,
  input: string,
  delayMs: number,
): Promise<Table> {
  const stalled = await proxyContext(context, delayMs, STALL_AFTER);
  const output = remoteOut(context, 'wan-stalled');
  const rows: string[][] = [];
  for (let round = 1; round <= context.options.rounds; round++) {
    await writeFile(output, 'intact\n');
    const finished = await runScript(
      `${q(process.execPath)} ${q(context.cli)} push -q --stall-timeout ${STALL_TIMEOUT_S} ` +
        `${sshFlags(stalled)} ${q(`${WAN_HOST}:${output}`)} < ${q(input)}`,
      (STALL_TIMEOUT_S + 120) * 1000,
    );
    const intact = (await readFile(output, 'utf8').catch(() => '')) === 'intact\n';
    const leftovers = await settledLeftovers(context.scratch, basename(output));
    context.log(
      `[wan stall ${round}/${context.options.rounds}] exit ${finished.exitCode} after ` +
        `${formatSeconds(finished.seconds)} s; destination ${intact ? 'intact' : 'CHANGED'}`,
    );
    rows.push([
      `${round}`,
      formatSeconds(finished.seconds),
      `${finished.exitCode ?? finished.signal}${finished.timedOut ? ' (timed out)' : ''}`,
      intact ? 'yes' : 'NO',
      `${leftovers}`,
      finished.stderr.trim().split('\n').at(-1) ?? '',
    ]);
  }
  return {
    title: `Stalled link: sshstream push --stall-timeout ${STALL_TIMEOUT_S}, delay proxy silent after ${sizeLabel(STALL_AFTER)} (${2 * delayMs} ms RTT)`,
    columns: [
      'run',
      'seconds to exit',
      'exit',
      'destination intact',
      'temp files left (5 s on)',
      'message',
    ],
    rows,
    notes: [
      'The link goes silent with every socket open (a black hole). Expected: exit 2 about ' +
        `${STALL_TIMEOUT_S} s after the last byte moved, the old destination untouched, no ` +
        'temporary file left. The default --stall-timeout is 60 s.',
    ],
    textColumns: 1,
  };
}
