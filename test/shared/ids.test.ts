import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { newAttachmentId, stableUuid } from '../../shared/ids';

/** Version 8 (custom), RFC 4122 variant. */
const GUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('stableUuid', () => {
  it.each(['', 'contoso/seed-1/addIpConfigurations/W/"6c1c6ae2"', 'a', 'ü∑ unicode ✓', 'x'.repeat(10_000)])(
    'gives the same GUID for the same seed %#',
    (seed) => {
      expect(stableUuid(seed)).toBe(stableUuid(seed));
      expect(stableUuid(seed)).toMatch(GUID_V8);
    },
  );

  it('pins the value for a known seed, so ids survive a redeploy', () => {
    // sha256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 ...: nibble 12 becomes the version 8, nibble 16 (4)
    // becomes the variant (4 & 3) | 8 = 8.
    expect(stableUuid('abc')).toBe('ba7816bf-8f01-8fea-8141-40de5dae2223');
  });

  it.each([
    ['contoso/seed-1/addIpConfigurations/W/"1"', 'contoso/seed-1/addIpConfigurations/W/"2"'],
    ['contoso/seed-1', 'fabrikam/seed-1'],
    ['a', 'A'],
    ['', ' '],
  ])('gives different GUIDs for %j and %j', (a, b) => {
    expect(stableUuid(a)).not.toBe(stableUuid(b));
  });

  it('is GUID-shaped, deterministic and collision-free over random seeds (property)', () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (seed) => {
        const id = stableUuid(seed);
        expect(id).toMatch(GUID_V8);
        expect(stableUuid(seed)).toBe(id);
        const previous = seen.get(id);
        if (previous !== undefined) expect(previous).toBe(seed);
        seen.set(id, seed);
      }),
      { numRuns: 500 },
    );
  });
});

describe('newAttachmentId', () => {
  it('gives a fresh random GUID every time', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newAttachmentId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
