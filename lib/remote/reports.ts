import type { Readable } from 'node:stream';
import { escapeControl } from '../util/escape.js';

/** One line the remote script printed after its tag: `<tag> <word> <fields...>`. */
export interface Report {
  word: string;
  fields: string[];
}

// Cap on remote text we keep for messages: a chatty or hostile peer must not grow our memory.
const MAX_TEXT = 16 * 1024;
// Cap on a line still waiting for its newline: its end is kept (a report may follow noise on
// the same line), the middle of a longer one is dropped.
const MAX_PARTIAL = 64 * 1024;
// Cap on the line an error message quotes.
const MAX_LAST_LINE = 2048;
const CUT = '[...]';

/**
 * Splits a remote output stream into tagged reports and other text. The tag is a per-transfer
 * nonce, so a login shell's startup noise, even without a trailing newline, cannot forge one.
 */
export class ReportReader {
  readonly reports: Report[] = [];
  /** Resolves when the stream has ended (or end() was called). */
  readonly ended: Promise<void>;
  private markEnded!: () => void;
  private isEnded = false;
  private other = '';
  // The unterminated line so far, as received; `cut` when its middle was dropped.
  private pieces: Buffer[] = [];
  private held = 0;
  private cut = false;
  private readonly waiters: Array<() => void> = [];

  private readonly onData = (chunk: Buffer) => this.consume(chunk);

  constructor(
    private readonly tag: string,
    private readonly stream: Readable | null | undefined,
  ) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    stream?.on('data', this.onData);
    stream?.on('end', () => {
      if (this.held > 0) this.line(this.takePartial());
      this.end();
    });
  }

  /**
   * Stops reading, between two reports: the stream is paused and its next byte left to another
   * reader (the control session of a pull handing its output over to the data, say).
   */
  detach(): void {
    this.stream?.off('data', this.onData);
    this.stream?.pause();
  }

  /** Resolves with the next report whose word is in `words` (or undefined once the stream ends). */
  async next(words: readonly string[], from = 0): Promise<Report | undefined> {
    for (;;) {
      const found = this.reports.slice(from).find((report) => words.includes(report.word));
      if (found) return found;
      if (this.isEnded) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The first error report, decoded and escaped, if any. */
  get error(): { kind: string; message: string } | undefined {
    const report = this.reports.find((r) => r.word === 'err');
    if (!report) return undefined;
    const [kind = 'io', hex = ''] = report.fields;
    return { kind, message: escapeControl(Buffer.from(hex, 'hex')) };
  }

  /** The last non-empty line of untagged text (ssh's own diagnostics), escaped; at most 2 KiB of its end. */
  get lastLine(): string {
    const lines = this.other.split('\n').filter((line) => line.trim() !== '');
    const last = lines.at(-1) ?? '';
    const cut = last.length > MAX_LAST_LINE ? CUT + last.slice(-MAX_LAST_LINE) : last;
    return escapeControl(Buffer.from(cut, 'latin1')).trim();
  }

  /** True while the stream has carried nothing but reports (no untagged byte, not even a newline). */
  get silent(): boolean {
    return this.other === '' && this.held === 0;
  }

  /** Whether the untagged text kept so far (its last 16 KiB) contains `text`. */
  includes(text: string): boolean {
    return this.other.includes(text);
  }

  /** Characters of remote text held in memory (bounded whatever the peer sends). */
  get retained(): number {
    return this.held + this.other.length;
  }

  // Only the new chunk is searched for newlines, so each chunk costs O(its size).
  private consume(chunk: Buffer): void {
    const last = chunk.lastIndexOf(0x0a);
    if (last === -1) return this.hold(chunk);
    this.hold(chunk.subarray(0, last));
    const lines = this.takePartial().split('\n');
    this.hold(chunk.subarray(last + 1));
    for (const line of lines) this.line(line);
    this.wake();
  }

  // Keeps the end of an unterminated line: whole chunks at its start are dropped while the rest
  // holds MAX_PARTIAL bytes (no copying); only a single huge chunk is cut down by a copy.
  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.pieces.push(bytes);
    this.held += bytes.length;
    while (this.held - this.pieces[0]!.length >= MAX_PARTIAL) {
      this.held -= this.pieces.shift()!.length;
      this.cut = true;
    }
    if (this.held <= 2 * MAX_PARTIAL) return;
    this.pieces = [Buffer.from(Buffer.concat(this.pieces).subarray(-MAX_PARTIAL))];
    this.held = MAX_PARTIAL;
    this.cut = true;
  }

  private takePartial(): string {
    const text = (this.cut ? CUT : '') + Buffer.concat(this.pieces).toString('latin1');
    this.pieces = [];
    this.held = 0;
    this.cut = false;
    return text;
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const at = line.indexOf(this.tag + ' ');
    if (at === -1) {
      this.other = (this.other + line + '\n').slice(-MAX_TEXT);
      return;
    }
    if (at > 0) this.other = (this.other + line.slice(0, at) + '\n').slice(-MAX_TEXT);
    const [word = '', ...fields] = line.slice(at + this.tag.length + 1).split(' ');
    this.reports.push({ word, fields });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Marks the stream as finished (also called when the process exits). */
  end(): void {
    this.isEnded = true;
    this.markEnded();
    this.wake();
  }
}
