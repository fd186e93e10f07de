import { describe, expect, it } from 'vitest';

import { assertMachineCanRunCommands, isAgentVersionSupported } from '../../../shared/arc/machineReadiness';

const ready = {
  name: 'HV01',
  location: 'westus2',
  status: 'Connected',
  agentVersion: '1.45.02800.1640',
  extensionsBlockList: [],
};

describe('machine readiness', () => {
  it.each([
    ['1.33', true],
    ['1.33.0.0', true],
    ['1.45.02800.1640', true],
    ['2.0', true],
    ['1.32.99', false],
    ['0.99', false],
    ['', false],
    [undefined, false],
    ['garbage', false],
  ])('agent %j supported: %s', (version, supported) => {
    expect(isAgentVersionSupported(version)).toBe(supported);
  });

  it('accepts a connected, current, unblocked machine', () => {
    expect(() => assertMachineCanRunCommands(ready)).not.toThrow();
    expect(() =>
      assertMachineCanRunCommands({
        ...ready,
        extensionsBlockList: ['Microsoft.Azure.Monitor/AzureMonitorWindowsAgent'],
      }),
    ).not.toThrow();
  });

  it.each([
    [{ status: 'Disconnected' }, 'MachineNotConnected', true],
    [{ status: 'Error' }, 'MachineNotConnected', true],
    [{ status: 'Expired' }, 'MachineNotConnected', false],
    [{ agentVersion: '1.30.02000.1' }, 'ArcAgentTooOld', false],
    [{ extensionsBlockList: ['Microsoft.CPlat.Core/RunCommandHandlerWindows'] }, 'RunCommandBlocked', false],
  ])('refuses %j with %s (retryable %s)', (change, code, retryable) => {
    expect(() => assertMachineCanRunCommands({ ...ready, ...change })).toThrow(
      expect.objectContaining({ name: 'StepError', code, retryable }),
    );
  });
});
