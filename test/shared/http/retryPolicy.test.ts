import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  exceedsCallBudget,
  isTransientStatus,
  parseRetryAfterInMs,
  retryDelayInMs,
} from '../../../shared/http/retryPolicy';

describe('isTransientStatus', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [505, false],
    [409, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
  ])('HTTP %i is retried within the call: %s', (status, transient) => {
    expect(isTransientStatus(status)).toBe(transient);
  });
});

describe('exceedsCallBudget', () => {
  it('leaves a server wait longer than the call may spend to the next delivery', () => {
    expect(exceedsCallBudget(undefined, { maxRetryDelayInMs: 8_000 })).toBe(false);
    expect(exceedsCallBudget(8_000, { maxRetryDelayInMs: 8_000 })).toBe(false);
    expect(exceedsCallBudget(8_001, { maxRetryDelayInMs: 8_000 })).toBe(true);
  });
});

describe('parseRetryAfterInMs', () => {
  const now = Date.parse('2026-11-28T04:30:00Z');

  it.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 5 ', 5_000],
    ['Sat, 28 Nov 2026 04:30:30 GMT', 30_000],
    ['Sat, 28 Nov 2026 04:32:00 GMT', 120_000],
    ['Sat, 28 Nov 2026 04:29:00 GMT', 0],
    ['soon', undefined],
    ['12abc', undefined],
    ['0x10', undefined],
    ['1e3', undefined],
  ])('reads %j as %s ms', (header, expected) => {
    expect(parseRetryAfterInMs({ 'retry-after': header }, now)).toBe(expected);
  });

  it("prefers Azure's millisecond headers, and reads the date form", () => {
    const at = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterInMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, at)).toBe(5000);
    expect(parseRetryAfterInMs({ 'retry-after-ms': '250', 'retry-after': '9' }, at)).toBe(250);
    expect(parseRetryAfterInMs({ 'x-ms-retry-after-ms': '40' }, at)).toBe(40);
    expect(parseRetryAfterInMs({ 'retry-after-ms': '2.5', 'retry-after': '3' }, at)).toBe(3000);
    expect(parseRetryAfterInMs({}, at)).toBeUndefined();
  });

  it.each(['1.5', '-1', 'foo 12'])('treats the malformed value %j as unreadable', (header) => {
    expect(parseRetryAfterInMs({ 'retry-after': header }, now)).toBeUndefined();
  });
});

describe('retryDelayInMs', () => {
  const base = { retryDelayInMs: 500, maxRetryDelayInMs: 8_000 };

  it.each<[string, number, Parameters<typeof retryDelayInMs>[1], number]>([
    ['Retry-After wins over backoff', 0, { ...base, retryAfterInMs: 3_000 }, 3_000],
    ['Retry-After is clamped to the maximum', 0, { ...base, retryAfterInMs: 60_000 }, 8_000],
    ['Retry-After of 0 means now', 5, { ...base, retryAfterInMs: 0, random: () => 1 }, 0],
    ['attempt 0, lowest jitter', 0, { ...base, random: () => 0 }, 250],
    ['attempt 0, highest jitter', 0, { ...base, random: () => 1 }, 500],
    ['attempt 1, middle jitter', 1, { ...base, random: () => 0.5 }, 750],
    ['attempt 3, highest jitter', 3, { ...base, random: () => 1 }, 4_000],
    ['attempt 4 reaches the maximum', 4, { ...base, random: () => 1 }, 8_000],
    ['attempt 10 is clamped, lowest jitter', 10, { ...base, random: () => 0 }, 4_000],
    ['a zero base delay', 3, { retryDelayInMs: 0, maxRetryDelayInMs: 8_000, random: () => 0.7 }, 0],
  ])('%s', (_name, attempt, options, expected) => {
    expect(retryDelayInMs(attempt, options)).toBe(expected);
  });

  it('stays within [ceiling/2, ceiling] for any attempt and random value (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, delay, max, r) => {
          const ceiling = Math.min(max, delay * 2 ** attempt);
          const value = retryDelayInMs(attempt, { retryDelayInMs: delay, maxRetryDelayInMs: max, random: () => r });
          expect(Number.isInteger(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(value).toBeLessThanOrEqual(Math.ceil(ceiling));
          expect(value).toBeLessThanOrEqual(max);
        },
      ),
    );
  });

  it('uses Math.random when no random is injected, staying within bounds', () => {
    for (let i = 0; i < 50; i++) {
      const value = retryDelayInMs(2, base);
      expect(value).toBeGreaterThanOrEqual(1_000);
      expect(value).toBeLessThanOrEqual(2_000);
    }
  });
});
