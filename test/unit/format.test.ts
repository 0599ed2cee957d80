import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, formatDuration, formatRate, parseRate } from '../../transforms/format.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('formatBytes', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1023.96 * KiB, '1.0 MiB'],
    [64 * MiB, '64.0 MiB'],
    [1.5 * GiB, '1.50 GiB'],
    [2 * 1024 ** 4, '2.00 TiB'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(formatBytes(input), expected));
  }
  test('invalid input is visibly unknown, not a number', () => {
    assert.equal(formatBytes(-1), '? B');
    assert.equal(formatBytes(Number.NaN), '? B');
  });
});

describe('formatRate', () => {
  const cases: [number, string][] = [
    [0, '0 B/s'],
    [512, '512 B/s'],
    [1023.7, '1.00 KiB/s'],
    [9.75 * MiB, '9.75 MiB/s'],
    [42.5 * MiB, '42.5 MiB/s'],
    [112 * MiB, '112 MiB/s'],
    [99.97 * MiB, '100 MiB/s'],
    [1.2 * GiB, '1.20 GiB/s'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(formatRate(input), expected));
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0.0s'],
    [0.4, '0.4s'],
    [9.96, '10s'],
    [12, '12s'],
    [59.6, '1m00s'],
    [185, '3m05s'],
    [3720, '1h02m'],
    [100_000, '27h47m'],
    [Number.POSITIVE_INFINITY, '--'],
    [-1, '--'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(formatDuration(input), expected));
  }
});

describe('parseRate', () => {
  const valid: [string, number][] = [
    ['1024', 1024],
    ['500K', 500 * KiB],
    ['500k', 500 * KiB],
    ['10M', 10 * MiB],
    ['1.5G', 1.5 * GiB],
    ['10MiB', 10 * MiB],
    ['10MB', 10 * MiB],
    ['10mb/s', 10 * MiB],
    ['10M/s', 10 * MiB],
    ['2 T', 2 * 1024 ** 4],
    ['100B', 100],
    [' 64K ', 64 * KiB],
  ];
  for (const [input, expected] of valid) {
    test(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(parseRate(input), expected));
  }

  const invalid = ['', '-1', 'abc', '0', '0K', '0.1', '10X', '10iB', 'K', '1e3', '10 M B', 'NaN'];
  for (const input of invalid) {
    test(`${JSON.stringify(input)} is a RangeError naming the input`, () => {
      assert.throws(
        () => parseRate(input),
        (error: unknown) =>
          error instanceof RangeError &&
          error.message.includes(JSON.stringify(input)) &&
          /rate/.test(error.message),
      );
    });
  }
});
