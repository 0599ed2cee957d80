import type { Readable } from 'node:stream';
import { escapeControl } from './escape.js';

/** One line the remote script printed after its tag: `<tag> <word> <fields...>`. */
export interface Report {
  word: string;
  fields: string[];
}

// Cap on remote text we keep for messages: a chatty or hostile peer must not grow our memory.
const MAX_TEXT = 16 * 1024;

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
  private partial = '';
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly tag: string,
    stream: Readable | null | undefined,
  ) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    stream?.on('data', (chunk: Buffer) => this.consume(chunk.toString('latin1')));
    stream?.on('end', () => {
      if (this.partial !== '') this.line(this.partial);
      this.partial = '';
      this.end();
    });
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

  /** The last non-empty line of untagged text (ssh's own diagnostics), escaped. */
  get lastLine(): string {
    const lines = this.other.split('\n').filter((line) => line.trim() !== '');
    return escapeControl(Buffer.from(lines.at(-1) ?? '', 'latin1')).trim();
  }

  private consume(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
    this.wake();
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
