import { setTimeout as sleep } from 'node:timers/promises';

import { expect } from 'vitest';

import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import type { NetworkInterface } from '../../../shared/networkController/resources';
import { seedRequest } from '../../support/seed';
import { compactHistory, type MachineSnapshot, type StatusDocument } from './invariants';
import type { ReliabilityStack } from './reliabilityStack';

/** One request as the Network Controller emulator logged it. */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  clientRequestId: string | null;
  ifMatch: string | null;
}

/**
 * What the focused reliability tests ask of a running stack: a seed-shaped request, an attachment's end, and the
 * emulators' state. `stack` is a getter because the stack starts in `beforeAll`.
 */
export function labOf(stack: () => ReliabilityStack) {
  return {
    request: (attachmentId: string, overrides: Partial<AttachRequestInput> = {}): AttachRequestInput => ({
      ...seedRequest(),
      attachmentId,
      ...overrides,
    }),
    /** The status document once it exists with history, or whatever the API answers at the deadline. */
    waitForEnd: async (tenantId: string, attachmentId: string, timeoutInMs = 30_000): Promise<StatusDocument> => {
      const deadline = Date.now() + timeoutInMs;
      for (;;) {
        const answer = await stack().api('GET', `/tenants/${tenantId}/attachments/${attachmentId}?showHistory=true`);
        if (answer.status === 200 || Date.now() > deadline) return answer.body as unknown as StatusDocument;
        await sleep(150);
      }
    },
    nic: async (id: string) =>
      (await stack().ncAdmin('GET', `/networking/v1/networkInterfaces/${id}`)) as NetworkInterface,
    ncLog: async () => (await stack().ncAdmin('GET', '/_emulator/requests')) as LoggedRequest[],
    /** The PUTs to one NIC the controller emulator logged, whatever their answer. */
    nicWrites: async (id: string) =>
      ((await stack().ncAdmin('GET', '/_emulator/requests')) as LoggedRequest[]).filter(
        (r) => r.method === 'PUT' && r.path.toLowerCase() === `/networking/v1/networkinterfaces/${id.toLowerCase()}`,
      ),
    machine: async (name: string) => (await stack().armAdmin('GET', `/_emulator/machines/${name}`)) as MachineSnapshot,
  };
}

export function expectCompleted(doc: StatusDocument): void {
  expect(doc.runtimeStatus, `${doc.lastError?.code ?? ''} ${compactHistory(doc)}`).toBe('Completed');
}

export function expectDetached(doc: StatusDocument): void {
  expect(doc.runtimeStatus, `${doc.lastError?.code ?? ''} ${compactHistory(doc)}`).toBe('Detached');
}

/** Each wanted address exactly once on the NIC, and no address twice. */
export function expectNicHoldsOnce(n: NetworkInterface, wanted: string[]): void {
  const held = n.properties.ipConfigurations.map((c) => c.properties.privateIPAddress);
  for (const address of wanted)
    expect(
      held.filter((a) => a === address),
      address,
    ).toHaveLength(1);
  expect(new Set(held).size).toBe(held.length);
}

/** The addresses a NIC holds, in order. */
export const addresses = (n: NetworkInterface) =>
  n.properties.ipConfigurations.map((c) => c.properties.privateIPAddress);

/** NICs the race tests load (after a controller reset), in Subnet1, holding 192.168.1.(240 + k). */
export const RACE_NICS = ['RaceVM1_Net0', 'RaceVM2_Net0', 'RaceVM3_Net0'] as const;

export async function loadRaceNics(stack: ReliabilityStack): Promise<void> {
  await stack.ncAdmin('POST', '/_emulator/resources', {
    resources: RACE_NICS.map((name, k) => ({
      resourceRef: `/networkInterfaces/${name}`,
      body: {
        resourceId: name,
        properties: {
          ipConfigurations: [
            {
              resourceId: `${name}_IP0`,
              properties: {
                privateIPAddress: `192.168.1.${240 + k}`,
                privateIPAllocationMethod: 'Static',
                subnet: { resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1' },
              },
            },
          ],
          privateMacAddress: `00155D3805${(0x10 + k).toString(16)}`,
          privateMacAllocationMethod: 'Static',
          configurationState: { status: 'Success', detailedInfo: [] },
        },
      },
    })),
  });
}
