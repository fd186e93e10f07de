import { describe, expect, it } from 'vitest';

import { machineResourceId, parseMachineRef } from '../../../shared/model/machineRef';

const ref = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab', machineName: 'HV01' };

describe('machineRef', () => {
  it('builds the HybridCompute resource id', () => {
    expect(machineResourceId(ref)).toBe(
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sdn-lab/providers/Microsoft.HybridCompute/machines/HV01',
    );
    expect(machineResourceId({ ...ref, resourceGroup: 'rg.(prod)_1', machineName: 'host-01.lab_a' })).toContain(
      'resourceGroups/rg.(prod)_1/providers/Microsoft.HybridCompute/machines/host-01.lab_a',
    );
  });

  it.each([
    [{ subscriptionId: 'not-a-guid' }, 'subscriptionId'],
    [{ resourceGroup: 'a/b' }, 'resourceGroup'],
    [{ resourceGroup: 'ends.' }, 'resourceGroup'],
    [{ resourceGroup: '' }, 'resourceGroup'],
    [{ machineName: 'HV01/runCommands/x' }, 'machineName'],
    [{ machineName: 'HV 01' }, 'machineName'],
    [{ machineName: '..%2f' }, 'machineName'],
    [{ machineName: '' }, 'machineName'],
  ])('rejects %j', (change, field) => {
    expect(() => parseMachineRef({ ...ref, ...change })).toThrow(
      expect.objectContaining({
        name: 'ValidationError',
        code: 'InvalidMachineRef',
        issues: [expect.objectContaining({ field })],
      }),
    );
  });
});
