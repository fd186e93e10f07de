import { describe, expect, it } from 'vitest';

import { isRetryableStatus } from '../../../shared/arc/armService';

describe('ARM statuses a later delivery may retry', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [505, false],
    [409, true],
    [423, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
  ])('HTTP %i: retryable later %s', (status, retryable) => {
    expect(isRetryableStatus(status)).toBe(retryable);
  });
});
