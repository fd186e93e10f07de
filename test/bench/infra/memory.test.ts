import { describe, expect, it } from 'vitest';

import { peakRssMb } from '../../../bench/infra/memory';

describe('peakRssMb', () => {
  it("reads a live process's high-water mark, at least what it holds now", () => {
    const peak = peakRssMb(process.pid);
    expect(peak).toBeGreaterThanOrEqual(Math.floor(process.memoryUsage().rss / 1024 / 1024) - 1);
  });

  it('is undefined for a process that does not exist', () => {
    expect(peakRssMb(2 ** 30)).toBeUndefined();
  });
});
