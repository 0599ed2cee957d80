import { formatBytes, formatDuration, formatRate } from './format.js';

const MIN_BAR_WIDTH = 10;
const PREFERRED_BAR_WIDTH = 20;
const MAX_BAR_WIDTH = 40;
const MIN_LABEL = 16;

/** What one progress line shows; `label` and `phase` already escaped (escapeControls). */
export interface ProgressState {
  label: string;
  bytes: number;
  total: number | undefined;
  /** Shown instead of rate and ETA when set. */
  phase: string | undefined;
  /** Bytes per second, when measurable yet. */
  rate: number | undefined;
  mode: 'tty' | 'lines';
}

/** Remote paths may hold newlines or escape sequences; they must not move the cursor. */
export const escapeControls = (text: string): string =>
  text.replace(
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );

const fitLabel = (label: string, room: number): string => {
  if (label.length <= room) {
    return label;
  }
  if (room < 5) {
    return label.slice(0, Math.max(0, room));
  }
  // The file name at the end usually tells transfers apart better than the host at the start.
  const head = Math.floor((room - 1) * 0.4);
  return `${label.slice(0, head)}…${label.slice(label.length - (room - 1 - head))}`;
};

const renderBar = (fraction: number, width: number): string => {
  const inner = width - 2;
  const filled = Math.min(inner, Math.floor(fraction * inner));
  const head = filled < inner ? '>' : '';
  return `[${'='.repeat(filled)}${head}${' '.repeat(Math.max(0, inner - filled - head.length))}]`;
};

/**
 * The progress line for `state`: in `'lines'` mode a plain sentence; in `'tty'` mode label,
 * bytes, percent, bar and rate fitted to `width` columns.
 */
export function progressLine(state: ProgressState, width: number): string {
  const { total, bytes } = state;
  const known = total !== undefined;
  const fraction = !known ? 0 : total === 0 ? 1 : Math.min(1, bytes / total);
  const amount = known ? `${formatBytes(bytes)} / ${formatBytes(total)}` : formatBytes(bytes);
  const percent = known ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : undefined;
  const statusParts = state.phase === undefined ? rateAndEta(state) : [state.phase];
  if (state.mode === 'lines') {
    const details = [percent?.trim(), ...statusParts].filter((part) => part);
    return `${state.label}: ${amount}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  }
  const status = statusParts.join('  ');
  // The last column is left empty: writing into it makes some terminals wrap early.
  const room = Math.max(1, width - 1);
  const tail = [amount, percent, status].filter((part) => part).join('  ');
  const available = room - tail.length - 2;
  // The bar takes the space the label leaves, up to MAX_BAR_WIDTH; a long label is shortened
  // (down to MIN_LABEL) so that the bar still gets PREFERRED_BAR_WIDTH, or MIN_BAR_WIDTH at least.
  const leftByLabel = Math.min(MAX_BAR_WIDTH, available - state.label.length - 2);
  const leftByShortLabel = available - Math.min(state.label.length, MIN_LABEL) - 2;
  const wanted = Math.max(leftByLabel, Math.min(PREFERRED_BAR_WIDTH, leftByShortLabel));
  const barWidth = known && wanted >= MIN_BAR_WIDTH ? wanted : 0;
  const label = fitLabel(state.label, Math.max(0, available - (barWidth > 0 ? barWidth + 2 : 0)));
  const bar = barWidth > 0 ? renderBar(fraction, barWidth) : '';
  return [label, amount, percent, bar, status]
    .filter((part) => part)
    .join('  ')
    .slice(0, room);
}

function rateAndEta({ rate, total, bytes }: ProgressState): string[] {
  if (rate === undefined) {
    return [];
  }
  const remaining = (total ?? 0) - bytes;
  const eta = total !== undefined && remaining > 0 && rate > 0;
  return eta ? [formatRate(rate), `ETA ${formatDuration(remaining / rate)}`] : [formatRate(rate)];
}
