import { describe, expect, it } from 'vitest';

import { runCommandName } from '../../../shared/arc/remoteRun';

describe('runCommandName', () => {
  it('is deterministic, readable and ARM-safe', () => {
    const name = runCommandName({ attachmentId: 'att-0001', step: 'enableNetworkProxy', attempt: 2 });
    expect(name).toBe(runCommandName({ attachmentId: 'att-0001', step: 'enableNetworkProxy', attempt: 2 }));
    expect(name).toMatch(/^sdnattach-enablenetworkproxy-a2-att-0001-[0-9a-f]{10}$/);
  });

  it.each([
    { attachmentId: 'x'.repeat(500), step: 'ensureContainerNetwork', attempt: 12345 },
    { attachmentId: 'Ünïcødé / with spaces & $(stuff)', step: 'step 4!', attempt: 0 },
    { attachmentId: '---', step: 'install-private-cloud-plugin-with-a-very-long-step-name', attempt: 9 },
    { attachmentId: '6f1c2a0e-3d5b-4c9a-9f7e-2b8d1e0c4a77', step: 'installPrivateCloudPlugin', attempt: 1 },
  ])('stays within 64 ARM name characters for %j', (parts) => {
    const name = runCommandName(parts);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[a-z0-9-]+$/);
    expect(name).not.toMatch(/--|-$/);
  });

  it('tells apart ids, steps and attempts that clean up the same', () => {
    const names = new Set([
      runCommandName({ attachmentId: 'A', step: 's', attempt: 1 }),
      runCommandName({ attachmentId: 'a', step: 's', attempt: 1 }),
      runCommandName({ attachmentId: 'a!', step: 's', attempt: 1 }),
      runCommandName({ attachmentId: 'a', step: 's', attempt: 2 }),
      runCommandName({ attachmentId: 'a', step: 't', attempt: 1 }),
    ]);
    expect(names.size).toBe(5);
  });

  it.each([
    { attachmentId: '', step: 's', attempt: 1 },
    { attachmentId: 'a', step: '!!', attempt: 1 },
    { attachmentId: 'a', step: 's', attempt: -1 },
    { attachmentId: 'a', step: 's', attempt: 1.5 },
  ])('refuses %j', (parts) => {
    expect(() => runCommandName(parts)).toThrow(expect.objectContaining({ name: 'ValidationError' }));
  });
});
