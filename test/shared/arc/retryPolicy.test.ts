import { describe, expect, it } from 'vitest';

import {
  backoffDelayInMs,
  isRetryableStatus,
  isTransientStatus,
  parseRetryAfterInMs,
} from '../../../shared/arc/retryPolicy';

describe('retry policy', () => {
  it.each([
    [408, true, true],
    [429, true, true],
    [500, true, true],
    [502, true, true],
    [503, true, true],
    [504, true, true],
    [501, false, false],
    [505, false, false],
    [409, false, true],
    [400, false, false],
    [401, false, false],
    [403, false, false],
    [404, false, false],
  ])('HTTP %i: retried in the call %s, retryable later %s', (status, transient, retryable) => {
    expect(isTransientStatus(status)).toBe(transient);
    expect(isRetryableStatus(status)).toBe(retryable);
  });

  it('reads Retry-After in its three forms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterInMs({ 'retry-after': '7' }, now)).toBe(7000);
    expect(parseRetryAfterInMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(parseRetryAfterInMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(parseRetryAfterInMs({ 'x-ms-retry-after-ms': '40' }, now)).toBe(40);
    expect(parseRetryAfterInMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfterInMs({}, now)).toBeUndefined();
  });

  it('backs off exponentially with bounded jitter and a ceiling', () => {
    const settings = { maxRetries: 5, retryDelayInMs: 100, maxRetryDelayInMs: 1000 };
    expect(backoffDelayInMs(0, settings, () => 0)).toBe(80);
    expect(backoffDelayInMs(0, settings, () => 1)).toBe(120);
    expect(backoffDelayInMs(2, settings, () => 0.5)).toBe(400);
    expect(backoffDelayInMs(10, settings, () => 0.5)).toBe(1000);
  });
});
