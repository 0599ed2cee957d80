const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

// Climbs binary units until the *rounded* text is below 1024, so 1023.96 KiB prints as '1.0 MiB'.
const toUnit = (n: number, digitsFor: (value: number, unitIndex: number) => number): string => {
  let value = n;
  let index = 0;
  for (;;) {
    const text = value.toFixed(digitsFor(value, index));
    if (Number(text) < 1024 || index === UNITS.length - 1) {
      return `${text} ${UNITS[index] ?? 'B'}`;
    }
    value /= 1024;
    index += 1;
  }
};

/**
 * Formats a byte count with binary units: `'0 B'`, `'1023 B'`, `'1.0 KiB'`, `'64.0 MiB'`,
 * `'1.50 GiB'`. Bytes are whole, KiB and MiB have one decimal, GiB and above two.
 */
export const formatBytes = (n: number): string => {
  if (!Number.isFinite(n) || n < 0) {
    return '? B';
  }
  return toUnit(n, (_value, index) => (index === 0 ? 0 : index < 3 ? 1 : 2));
};

/**
 * Formats a rate in bytes per second with about three significant digits: `'512 B/s'`,
 * `'9.75 MiB/s'`, `'112 MiB/s'`.
 */
export const formatRate = (bytesPerSecond: number): string => {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) {
    return '? B/s';
  }
  const digitsFor = (value: number, index: number): number =>
    index === 0 || value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
  return `${toUnit(bytesPerSecond, digitsFor)}/s`;
};

/**
 * Formats a duration compactly: `'0.4s'` (one decimal under 10 s), `'12s'`, `'3m05s'`, `'1h02m'`.
 * Returns `'--'` for a negative or non-finite duration (an ETA that cannot be estimated).
 */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '--';
  }
  if (Number(seconds.toFixed(1)) < 10) {
    return `${seconds.toFixed(1)}s`;
  }
  const whole = Math.round(seconds);
  if (whole < 60) {
    return `${whole}s`;
  }
  if (whole < 3600) {
    return `${Math.floor(whole / 60)}m${pad2(whole % 60)}s`;
  }
  const minutes = Math.round(whole / 60);
  return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`;
};

const pad2 = (n: number): string => String(n).padStart(2, '0');

const RATE_PATTERN = /^(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b)?(\/s)?$/i;
const RATE_MULTIPLIERS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Parses a rate limit such as `'500K'`, `'10M'`, `'1.5G'`, `'1024'`, `'10MiB'`, `'10MB'` or
 * `'10M/s'` into bytes per second. Suffixes are case-insensitive powers of 1024, as with curl's and
 * pv's `--limit-rate`. Throws a `RangeError` for anything else, or for a rate below 1 byte/s.
 */
export const parseRate = (text: string): number => {
  const match = RATE_PATTERN.exec(text.trim());
  const number = match?.[1];
  const prefix = match?.[2]?.toLowerCase() ?? '';
  // 'iB' only makes sense after a prefix: '10iB' is a typo, not 10 bytes.
  if (match === null || number === undefined || (prefix === '' && /^i/i.test(match[3] ?? ''))) {
    throw new RangeError(
      `invalid rate ${JSON.stringify(text)}: expected a positive number with an optional K, M, G or T suffix (powers of 1024), e.g. 500K or 10M`,
    );
  }
  const rate = Math.round(Number(number) * (RATE_MULTIPLIERS[prefix] ?? 1));
  if (!Number.isSafeInteger(rate) || rate < 1) {
    throw new RangeError(
      `invalid rate ${JSON.stringify(text)}: must be at least 1 byte per second and finite`,
    );
  }
  return rate;
};
