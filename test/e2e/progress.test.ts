import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { type ProgressOptions, createProgress } from '../../transforms/progress.js';

// A stand-in for stderr that records what was written and can pretend to be a terminal.
class Capture extends Writable {
  text = '';
  columns: number | undefined;

  constructor(columns?: number) {
    super({ decodeStrings: false });
    this.columns = columns;
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const setup = (
  options: Partial<ProgressOptions> & Pick<ProgressOptions, 'mode'>,
  columns = 100,
) => {
  const output = new Capture(columns);
  const clock = { ms: 0 };
  const progress = createProgress({
    output,
    label: 'push sandbox:/tmp/x',
    now: () => clock.ms,
    ...options,
  });
  progress.resume();
  return { output, clock, progress };
};

// Each tty redraw starts with '\r'; the last frame is what the user sees.
const frames = (text: string): string[] =>
  text
    .split('\r')
    .slice(1)
    .map((frame) => frame.replace(/\x1b\[K$/, ''));

describe('progress in tty mode', () => {
  test('with `after`, nothing is drawn until it settles (ssh may be asking on the terminal)', async () => {
    let release = (): void => {};
    const after = new Promise<void>((resolve) => (release = resolve));
    const { output, clock, progress } = setup({ mode: 'tty', total: 1000, after });
    progress.write(Buffer.alloc(300));
    clock.ms = 5000;
    progress.setPhase(undefined);
    progress.advanceTo(400);
    assert.equal(output.text, '');
    release();
    await after;
    assert.match(frames(output.text).at(-1) ?? '', /^push sandbox:\/tmp\/x  400 B \/ 1000 B   40%/);
    progress.destroy();
  });

  test('advanceTo counts bytes that never pass through the stream (ssh reading a file)', () => {
    const { output, clock, progress } = setup({ mode: 'tty', total: 1000 });
    progress.advanceTo(250);
    assert.equal(progress.bytes, 250);
    assert.match(frames(output.text).at(-1) ?? '', / 25%/);
    clock.ms = 1000;
    progress.advanceTo(100); // never backwards
    progress.advanceTo(750);
    assert.equal(progress.bytes, 750);
    assert.match(frames(output.text).at(-1) ?? '', /750 B \/ 1000 B   75%/);
    progress.destroy();
  });

  test('redraws one line with \\r and erase-line, showing percent, rate and ETA', () => {
    const { output, clock, progress } = setup({ mode: 'tty', total: 1000 });
    progress.write(Buffer.alloc(100));
    assert.match(output.text, /^\r.*\x1b\[K$/);
    assert.match(output.text, / 10%/);
    clock.ms = 1000;
    progress.write(Buffer.alloc(400));
    const last = frames(output.text).at(-1) ?? '';
    assert.match(
      last,
      /^push sandbox:\/tmp\/x  500 B \/ 1000 B   50%  \[=+> *\]  500 B\/s  ETA 1\.0s$/,
    );
    assert.ok(!output.text.includes('\n'));
    progress.destroy();
  });

  test('redraws at most about 10 times a second', () => {
    const { output, clock, progress } = setup({ mode: 'tty', total: 10_000 });
    for (let ms = 0; ms < 100; ms += 10) {
      clock.ms = ms;
      progress.write(Buffer.alloc(10));
    }
    assert.equal(frames(output.text).length, 1);
    clock.ms = 150;
    progress.write(Buffer.alloc(10));
    assert.equal(frames(output.text).length, 2);
    progress.destroy();
  });

  for (const columns of [20, 40, 80, 200]) {
    test(`fits a ${columns}-column terminal, even with a long label`, () => {
      const label = `push sandbox:/${'very-long-directory/'.repeat(8)}file.tar`;
      const { output, clock, progress } = setup(
        { mode: 'tty', total: 5 * 1024 ** 3, label },
        columns,
      );
      clock.ms = 2000;
      progress.write(Buffer.alloc(300_000));
      const last = frames(output.text).at(-1) ?? '';
      assert.ok(last.length <= columns - 1, `${last.length} chars: ${last}`);
      if (columns >= 80) {
        assert.match(last, /\[[=> ]+\]/);
        assert.match(last, /file\.tar/, 'the end of the label survives truncation');
      }
      progress.destroy();
    });
  }

  test('without a total shows bytes and rate but no percent or bar', () => {
    const { output, clock, progress } = setup({ mode: 'tty' });
    clock.ms = 2000;
    progress.write(Buffer.alloc(4096));
    const last = frames(output.text).at(-1) ?? '';
    assert.equal(last, 'push sandbox:/tmp/x  4.0 KiB  2.00 KiB/s');
    progress.destroy();
  });

  test('setTotal() enables percent later', () => {
    const { output, clock, progress } = setup({ mode: 'tty' });
    progress.setTotal(200);
    clock.ms = 500;
    progress.write(Buffer.alloc(50));
    assert.match(frames(output.text).at(-1) ?? '', / 25%/);
    assert.throws(() => progress.setTotal(-5), RangeError);
    progress.destroy();
  });

  test('setPhase() replaces rate and ETA and redraws at once', () => {
    const { output, clock, progress } = setup({ mode: 'tty', total: 100 });
    clock.ms = 1000;
    progress.write(Buffer.alloc(100));
    clock.ms = 1001;
    progress.setPhase('verifying md5…');
    const last = frames(output.text).at(-1) ?? '';
    assert.match(last, /100%.*verifying md5…$/);
    assert.doesNotMatch(last, /B\/s|ETA/);
    progress.destroy();
  });

  test('done() erases the line and stops drawing', () => {
    const { output, progress } = setup({ mode: 'tty', total: 100 });
    progress.write(Buffer.alloc(10));
    progress.done();
    assert.ok(output.text.endsWith('\r\x1b[K'));
    const length = output.text.length;
    progress.setPhase('verifying');
    progress.write(Buffer.alloc(10));
    assert.equal(output.text.length, length);
    progress.destroy();
  });

  test('an error erases the line so the error message starts clean', () => {
    const { output, progress } = setup({ mode: 'tty', total: 100 });
    progress.on('error', () => {});
    progress.write(Buffer.alloc(10));
    progress.destroy(new Error('boom'));
    assert.ok(output.text.endsWith('\r\x1b[K'));
  });

  test('control characters in the label are escaped, never sent to the terminal', () => {
    const { output, progress } = setup({ mode: 'tty', label: 'push h:/a\nb\x1b[2Jc' });
    progress.write(Buffer.alloc(1));
    assert.match(output.text, /a\\x0ab\\x1b\[2Jc/);
    assert.ok(!output.text.includes('\n'));
    assert.ok(!output.text.includes('\x1b[2J'));
    progress.destroy();
  });

  test('passes the data through unchanged and counts it', async () => {
    const { progress } = setup({ mode: 'tty' });
    progress.pause();
    const chunk = Buffer.from('hello');
    progress.end(chunk);
    const [first] = (await progress.toArray()) as Buffer[];
    assert.equal(first, chunk);
    assert.equal(progress.bytes, 5);
  });
});

describe('progress in lines mode', () => {
  test('prints a plain line per interval and a final line that repeats none, with no \\r or escapes', async () => {
    const { output, clock, progress } = setup({ mode: 'lines', total: 4000, interval: 1000 });
    for (const ms of [0, 500, 1000, 1500, 2500]) {
      clock.ms = ms;
      progress.write(Buffer.alloc(500));
    }
    progress.end();
    await new Promise((resolve) => progress.on('end', resolve));
    assert.ok(!output.text.includes('\r'));
    assert.ok(!output.text.includes('\x1b'));
    assert.ok(output.text.endsWith('\n'));
    const lines = output.text.slice(0, -1).split('\n');
    assert.deepEqual(lines, [
      'push sandbox:/tmp/x: 1.5 KiB / 3.9 KiB (37%, 1.46 KiB/s, ETA 1.7s)',
      'push sandbox:/tmp/x: 2.4 KiB / 3.9 KiB (62%, 1000 B/s, ETA 1.5s)',
    ]);
  });

  test('setPhase() prints a line at once', () => {
    const { output, progress } = setup({ mode: 'lines' });
    progress.setPhase('verifying sha256…');
    assert.equal(output.text, 'push sandbox:/tmp/x: 0 B (verifying sha256…)\n');
    progress.destroy();
  });

  test('keeps reporting while the data stalls, and its timer stops at the end', async () => {
    const output = new Capture();
    const progress = createProgress({ output, label: 'pull h:f', mode: 'lines', interval: 20 });
    progress.resume();
    progress.write(Buffer.alloc(1));
    await sleep(300);
    const stalledLines = output.text.split('\n').length - 1;
    assert.ok(stalledLines >= 2, `${stalledLines} lines while stalled`);
    progress.end();
    await new Promise((resolve) => progress.on('end', resolve));
    const atEnd = output.text.length;
    await sleep(100);
    assert.equal(output.text.length, atEnd);
  });

  test('a bad interval is a RangeError, a bad mode a TypeError', () => {
    assert.throws(() => setup({ mode: 'lines', interval: 0 }), RangeError);
    assert.throws(() => setup({ mode: 'bar' as never }), TypeError);
  });
});
