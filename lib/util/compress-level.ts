import { LEVEL_RANGE, type CompressionChoice } from '../../transforms/compress.js';
import { UsageError, type ErrorContext } from './errors.js';

/**
 * Refuses a compression level its format does not take (gzip 1-9, zstd 1-19), and a level
 * without a fixed format: 'auto' picks the format, and each format its default level.
 * Checked before anything connects: a remote `gzip -12` reads as `-1 -2` and would not fail.
 */
export function checkCompressLevel(
  compress: CompressionChoice | undefined,
  level: number | undefined,
  context: ErrorContext,
  name = 'compressLevel',
): void {
  if (level === undefined) return;
  if (compress === undefined || compress === 'auto') {
    throw new UsageError(
      `${name} needs a fixed compression, gzip or zstd${compress === 'auto' ? " (auto uses each format's default level)" : ''}`,
      context,
    );
  }
  const [min, max] = LEVEL_RANGE[compress];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new UsageError(
      `${name} for ${compress} must be a whole number from ${min} to ${max}, not ${level}`,
      context,
    );
  }
}
