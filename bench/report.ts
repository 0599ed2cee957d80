import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Summary } from './stats.js';

/** A markdown table with a title and notes under it. */
export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
  /** How many leading columns hold text (left-aligned); the rest are numbers. Default 2. */
  textColumns?: number;
}

const MiB = 2 ** 20;

/** Seconds with 2-3 significant decimals, or `FAIL` when nothing succeeded. */
export const formatSeconds = (seconds: number | undefined): string =>
  seconds === undefined ? 'FAIL' : seconds < 10 ? seconds.toFixed(3) : seconds.toFixed(2);

export const formatMs = (seconds: number | undefined): string =>
  seconds === undefined ? 'FAIL' : (seconds * 1000).toFixed(1);

export const formatRate = (bytes: number, seconds: number | undefined): string =>
  seconds === undefined || seconds <= 0 ? '-' : (bytes / MiB / seconds).toFixed(1);

/** `a / b` as `1.23x`, or `-` when either is missing. */
export const formatRatio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b <= 0 ? '-' : `${(a / b).toFixed(2)}x`;

export const formatMiB = (kib: number | undefined): string =>
  kib === undefined ? '-' : (kib / 1024).toFixed(1);

export const formatBytesMiB = (bytes: number | undefined): string =>
  bytes === undefined ? '-' : (bytes / MiB).toFixed(1);

/** `3/3`, or `2/3 (exit 2: ...)` naming the first failure. */
export const formatRuns = (summary: Summary): string =>
  summary.ok === summary.runs
    ? `${summary.ok}/${summary.runs}`
    : `${summary.ok}/${summary.runs} (${summary.error ?? ''})`;

export const formatRange = (summary: Summary): string =>
  summary.min === undefined ? '-' : `${formatSeconds(summary.min)}–${formatSeconds(summary.max)}`;

// A pipe inside a cell would end it.
const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** Renders tables as GitHub markdown. */
export function renderMarkdown(heading: string, preamble: string[], tables: Table[]): string {
  const out = [`# ${heading}`, '', ...preamble, ''];
  for (const table of tables) {
    out.push(`## ${table.title}`, '');
    const text = table.textColumns ?? 2;
    out.push(`| ${table.columns.map(cell).join(' | ')} |`);
    out.push(`|${table.columns.map((_, i) => (i < text ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of table.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
    if (table.notes?.length) out.push('', ...table.notes);
    out.push('');
  }
  return out.join('\n');
}

/** Writes `<stamp>.json` and `<stamp>.md` into `dir`; returns the JSON path. */
export async function writeResults(
  dir: string,
  stamp: string,
  json: unknown,
  markdown: string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${stamp}.json`);
  await writeFile(path, JSON.stringify(json, null, 2) + '\n');
  await writeFile(join(dir, `${stamp}.md`), markdown);
  return path;
}

/** What a suite hands back: its tables for the report and its raw data for the JSON. */
export interface SuiteResult {
  suite: string;
  tables: Table[];
  data: unknown;
}
