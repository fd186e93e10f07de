import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  isPermanentErrorCode,
  isRetryableResponse,
  parseRetryAfterInMs,
  retryDelayInMs,
} from '../../../shared/networkController/retryPolicy';

describe('isRetryableResponse', () => {
  it.each<[number | undefined, string | undefined, boolean]>([
    [undefined, undefined, true],
    [undefined, 'ECONNRESET', true],
    [400, undefined, false],
    [400, 'InvalidResourceReference', false],
    [400, 'RetryableError', true],
    [401, undefined, false],
    [403, undefined, false],
    [404, 'NotFound', false],
    [404, 'RetryableError', true],
    [408, undefined, true],
    [409, undefined, false],
    [409, 'AnotherOperationInProgress', false],
    [412, 'PreconditionFailed', false],
    [429, undefined, true],
    [500, undefined, true],
    [500, 'InternalServerError', true],
    [500, 'PrivateIPAddressInUse', false],
    [500, 'InvalidResourceReference', false],
    [500, 'SubnetIsFull', false],
    [500, 'PrivateMacAddressInUse', false],
    [500, 'DuplicateResourceId', false],
    [500, 'invalidresourcereference', false],
    [500, 'ServiceUnavailable', true],
    [500, 'UpgradeInProgress', true],
    [501, undefined, false],
    [502, undefined, true],
    [503, undefined, true],
    [503, 'InvalidResourceReference', true],
    [504, undefined, true],
    [505, undefined, false],
    [200, undefined, false],
  ])('status %s with code %s is retryable: %s', (status, code, expected) => {
    expect(isRetryableResponse(status, code)).toBe(expected);
  });

  it('retries every RetryableError, whatever the status (property)', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }), (status) => {
        expect(isRetryableResponse(status, 'RetryableError')).toBe(true);
      }),
    );
  });
});

describe('isPermanentErrorCode', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['PrivateIPAddressInUse', true],
    ['PrivateIpAddressNotInSubnet', true],
    ['InvalidResourceReference', true],
    ['SubnetIsFull', true],
    ['NotFound', true],
    ['Forbidden', true],
    ['InternalServerError', false],
    ['RetryableError', false],
    ['Timeout', false],
  ])('%s is permanent: %s', (code, expected) => {
    expect(isPermanentErrorCode(code)).toBe(expected);
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
    expect(parseRetryAfterInMs(header, now)).toBe(expected);
  });

  it.each(['1.5', '-1', 'foo 12'])('treats the malformed value %j as unreadable', (header) => {
    expect(parseRetryAfterInMs(header, now)).toBeUndefined();
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
