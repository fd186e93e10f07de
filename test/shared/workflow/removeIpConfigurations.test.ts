import { describe, expect, it } from 'vitest';

import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import { type StepState, withAllSteps } from '../../../shared/model/records';
import { NicDirectory } from '../../../shared/networkController/NicDirectory';
import { ADOPTED_TAG, OWNER_TAG, ownerOf } from '../../../shared/networkController/nicMerge';
import { NicUpdateBatcher } from '../../../shared/networkController/NicUpdateBatcher';
import type { IpConfiguration, NetworkInterface } from '../../../shared/networkController/resources';
import {
  removeIpConfigurations,
  type RemoveIpConfigurationsCheckpoint,
  type RemoveIpConfigurationsDeps,
} from '../../../shared/workflow/removeIpConfigurations';
import type { StepOutcome, StepRunContext } from '../../../shared/workflow/stepTypes';
import { tenantGuard } from '../../../shared/workflow/tenantGuard';
import { InMemoryNetworkController } from '../../support/InMemoryNetworkController';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { rejectionOf } from '../../support/rejection';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

const NIC = 'ContainerHostVM1_Net0';
const ME = ownerOf('contoso', 'seed-1');
const VNET1_SUBNET = '/virtualNetworks/VNet1/subnets/Subnet1';
const POLL_MS = 1_000;

const ipc = (address: string, tags?: Record<string, string>, subnet = VNET1_SUBNET): IpConfiguration => ({
  resourceId: `IP_${address.replaceAll('.', '_')}`,
  ...(tags ? { tags } : {}),
  properties: { privateIPAddress: address, privateIPAllocationMethod: 'Static', subnet: { resourceRef: subnet } },
});

function nicWith(resourceId: string, ...extra: IpConfiguration[]): NetworkInterface {
  return {
    resourceId,
    properties: {
      ipConfigurations: [{ ...ipc('192.168.1.9'), resourceId: `${resourceId.replace(/_Net0$/, '')}_IP0` }, ...extra],
    },
  };
}

/** The seed attachment's two addresses on its NIC, and what others hold there (left alone by its detach). */
const attachedNic = () =>
  nicWith(
    NIC,
    ipc('192.168.1.101', { [OWNER_TAG]: ME }),
    ipc('192.168.1.102', { [OWNER_TAG]: ME }),
    ipc('192.168.1.103', { [OWNER_TAG]: ME, [ADOPTED_TAG]: 'true' }),
    ipc('192.168.1.105', { [OWNER_TAG]: ownerOf('contoso', 'neighbour') }),
    ipc('192.168.1.106'),
  );

const ATTACHED = {
  steps: { addIpConfigurations: { status: 'Succeeded', attempts: 1 } as StepState },
  result: {
    networkInterface: { resourceId: NIC },
    ipConfigurations: ['192.168.1.101', '192.168.1.102', '192.168.1.103'].map((privateIPAddress) => ({
      resourceId: `IP_${privateIPAddress.replaceAll('.', '_')}`,
      privateIPAddress,
    })),
  },
};

function setup(options: { nics?: NetworkInterface[]; registry?: InMemoryTenantStore } = {}) {
  const nc = new InMemoryNetworkController(
    options.nics ?? [attachedNic(), movedTo('192.168.1.10')(nicWith('ContainerHostVM2_Net0'))],
    { [VNET1_SUBNET]: '192.168.1.0/24', '/virtualNetworks/VNet2/subnets/Subnet1': '192.168.1.0/24' },
  );
  const directory = new NicDirectory(nc, { maxAgeInMs: 60_000 });
  const registry = options.registry ?? InMemoryTenantStore.with({ contoso: exampleTenant('contoso') });
  const deps: RemoveIpConfigurationsDeps = {
    networkController: nc,
    directory,
    writer: new NicUpdateBatcher(nc, {
      windowInMs: 0,
      pollIntervalInMs: 1,
      maxHoldInMs: 0,
      stableUuid,
      sleep: () => Promise.resolve(),
    }),
    authorize: tenantGuard(registry, LAB_DEFAULTS),
    pollIntervalInMs: POLL_MS,
    operationTimeoutInMs: 60_000,
  };
  let nowInMs = Date.parse('2026-11-28T10:00:00Z');
  const saved: (RemoveIpConfigurationsCheckpoint | undefined)[] = [];
  /** One delivery; `checkpoint` is what the previous one left (a waiting outcome's, or a saved one). */
  const deliver = (
    state: { steps?: Partial<typeof ATTACHED.steps>; result?: typeof ATTACHED.result | object } = ATTACHED,
    checkpoint?: RemoveIpConfigurationsCheckpoint,
    inlineWaitInMs = 0,
  ): Promise<StepOutcome<RemoveIpConfigurationsCheckpoint>> => {
    const run: StepRunContext<RemoveIpConfigurationsCheckpoint> = {
      tenantId: 'contoso',
      attachmentId: 'seed-1',
      request: acceptedSeedRequest(),
      attempt: 1,
      steps: withAllSteps(state.steps ?? {}),
      result: state.result ?? {},
      ...(checkpoint ? { checkpoint: structuredClone(checkpoint) } : {}),
      saveCheckpoint: (next) => {
        saved.push(structuredClone(next));
        return Promise.resolve();
      },
      inlineWaitInMs,
      options: {},
      nowInMs: () => nowInMs,
      sleep: (ms) => {
        nowInMs += ms;
        return Promise.resolve();
      },
      log: () => undefined,
    };
    return removeIpConfigurations(deps, run);
  };
  const addresses = (nicId = NIC) =>
    nc.nic(nicId).properties.ipConfigurations.map((c) => [c.properties.privateIPAddress, c.tags?.[OWNER_TAG]]);
  return { nc, directory, deps, deliver, saved, addresses, advance: (ms: number) => void (nowInMs += ms) };
}

function waiting(outcome: StepOutcome<RemoveIpConfigurationsCheckpoint>) {
  if (outcome.kind !== 'waiting') throw new Error(`expected waiting, got ${JSON.stringify(outcome)}`);
  return outcome;
}

const LEFT_BY_OTHERS = [
  ['192.168.1.9', undefined],
  ['192.168.1.103', undefined],
  ['192.168.1.105', ownerOf('contoso', 'neighbour')],
  ['192.168.1.106', undefined],
];

describe('removeIpConfigurations', () => {
  it('takes exactly this attachment’s configurations off its NIC in one guarded write, and gives adopted ones back', async () => {
    const t = setup();
    t.directory.reserveAddresses(['192.168.1.101'], ME);
    const outcome = await t.deliver();
    expect(outcome).toEqual({
      kind: 'succeeded',
      result: {},
      detail: { networkInterface: NIC, released: ['192.168.1.101', '192.168.1.102', '192.168.1.103'] },
    });
    expect(t.nc.puts).toHaveLength(1);
    expect(t.nc.puts[0]?.ifMatch).toMatch(/^W\//);
    expect(t.addresses()).toEqual(LEFT_BY_OTHERS);
    // Its reservations in this process are gone with it.
    expect(t.directory.isReservedForOther('192.168.1.101', ownerOf('contoso', 'next'))).toBe(false);
  });

  it.each<[string, { steps: Record<string, StepState>; result: object }]>([
    ['step 1 never ran', { steps: {}, result: {} }],
    [
      'step 1 ran and failed before choosing a NIC, and no NIC holds the request’s address',
      { steps: { addIpConfigurations: { status: 'Failed', attempts: 1 } }, result: {} },
    ],
  ])('succeeds without any write when %s', async (name, state) => {
    const t = setup({
      nics: name.startsWith('step 1 ran') ? [nicWith('Elsewhere_Net0')].map(movedTo('192.168.1.50')) : undefined,
    });
    const outcome = await t.deliver(state);
    expect(outcome).toMatchObject({
      kind: 'succeeded',
      detail: { networkInterface: null, released: [], note: 'no network interface was ever written' },
    });
    expect(t.nc.puts).toEqual([]);
    // Only the lookup on the request's network: its subnets, then the one NIC their back-references name.
    expect(t.nc.calls).toEqual(name.startsWith('step 1 ran') ? ['GET subnets VNet1', 'GET Elsewhere_Net0'] : []);
  });

  it.each<[string, { steps: Record<string, StepState>; result: object }]>([
    [
      'the NIC step 1 chose, from its checkpoint (it failed after choosing)',
      {
        steps: {
          addIpConfigurations: {
            status: 'Failed',
            attempts: 2,
            checkpoint: { nicId: NIC, addresses: ['192.168.1.101'] },
          },
        },
        result: {},
      },
    ],
    [
      'the NIC holding the request’s address, when step 1 ran but recorded none',
      { steps: { addIpConfigurations: { status: 'Failed', attempts: 1 } }, result: {} },
    ],
  ])('finds %s', async (_, state) => {
    const t = setup();
    expect(await t.deliver(state)).toMatchObject({ kind: 'succeeded', detail: { networkInterface: NIC } });
    expect(t.nc.puts).toHaveLength(1);
    expect(t.addresses()).toEqual(LEFT_BY_OTHERS);
  });

  it('succeeds without a write when nothing of the attachment is left on the NIC (a redelivery after the write)', async () => {
    const t = setup();
    await t.deliver();
    const calls = t.nc.calls.length;
    // The delivery that wrote died before its outcome was stored; the queue delivers it again, with no checkpoint.
    const again = await t.deliver();
    expect(again).toMatchObject({
      kind: 'succeeded',
      detail: { networkInterface: NIC, note: 'nothing of this attachment was left on the NIC' },
    });
    expect(t.nc.puts).toHaveLength(1);
    expect(t.nc.calls.slice(calls)).toEqual([`GET ${NIC}`]);
  });

  it('hands a running operation over to a re-check, and the re-check finds it done without writing again', async () => {
    const t = setup();
    t.nc.holdOperations = true;
    const first = waiting(await t.deliver());
    expect(first).toMatchObject({
      checkpoint: { nicId: NIC, operation: { url: t.nc.lastOperationUrl() } },
      checkAfterInMs: POLL_MS,
      message: `release on NIC ${NIC}`,
    });
    // A re-check while the operation still runs: waiting again, the same operation.
    t.advance(POLL_MS);
    const second = waiting(await t.deliver(ATTACHED, first.checkpoint));
    expect(second.checkpoint.operation).toEqual(first.checkpoint.operation);

    t.nc.endOperation(t.nc.lastOperationUrl(), { status: 'Succeeded' });
    expect(await t.deliver(ATTACHED, second.checkpoint)).toMatchObject({
      kind: 'succeeded',
      detail: { networkInterface: NIC, released: ['192.168.1.101', '192.168.1.102', '192.168.1.103'] },
    });
    expect(t.nc.puts).toHaveLength(1);
    expect(t.addresses()).toEqual(LEFT_BY_OTHERS);
  });

  it('follows the operation inline while the wait budget lasts', async () => {
    const t = setup();
    t.nc.holdOperations = true;
    const original = t.nc.getOperation.bind(t.nc);
    let looks = 0;
    t.nc.getOperation = (url) => {
      if (++looks === 3) t.nc.endOperation(url, { status: 'Succeeded' });
      return original(url);
    };
    expect((await t.deliver(ATTACHED, undefined, 10 * POLL_MS)).kind).toBe('succeeded');
    expect(looks).toBe(3);
  });

  it.each([
    [
      'with the controller’s RetryableError',
      { code: 'RetryableError', message: 'Host unreachable.' },
      'RetryableError',
      /^Host unreachable\.$/,
    ],
    [
      'without one',
      undefined,
      'IpConfigurationsNotRemoved',
      /still holds 192\.168\.1\.101, 192\.168\.1\.102, 192\.168\.1\.103 of this attachment after the write ended Failed/,
    ],
  ])(
    'a Failed operation (%s) is a retryable error; the redelivery writes again and succeeds',
    async (_, error, code, message) => {
      const t = setup();
      t.nc.holdOperations = true;
      const first = waiting(await t.deliver());
      t.nc.endOperation(t.nc.lastOperationUrl(), { status: 'Failed', ...(error ? { error } : {}) });
      const failure = await rejectionOf(t.deliver(ATTACHED, first.checkpoint));
      expect(isKnownError(failure) && failure.toErrorInfo()).toMatchObject({
        source: 'NetworkController',
        code,
        retryable: true,
        target: NIC,
      });
      expect((failure as Error).message).toMatch(message);
      // The spent operation is forgotten, so the redelivery writes instead of reading the failure back.
      expect(t.saved.at(-1)).toEqual({ nicId: NIC });

      t.nc.holdOperations = false;
      expect((await t.deliver(ATTACHED, t.saved.at(-1))).kind).toBe('succeeded');
      expect(t.nc.puts).toHaveLength(2);
      expect(t.addresses()).toEqual(LEFT_BY_OTHERS);
    },
  );

  it('fails for good, without writing again, when the controller ends the operation Failed with a code of its own', async () => {
    const t = setup();
    t.nc.holdOperations = true;
    const first = waiting(await t.deliver());
    t.nc.endOperation(t.nc.lastOperationUrl(), {
      status: 'Failed',
      error: { code: 'PortProfileRejected', message: 'The port profile was rejected.' },
    });
    const failure = await rejectionOf(t.deliver(ATTACHED, first.checkpoint));
    expect(isKnownError(failure) && failure.toErrorInfo()).toMatchObject({
      source: 'NetworkController',
      code: 'PortProfileRejected',
      retryable: false,
      target: NIC,
    });
    expect(t.nc.puts).toHaveLength(1);
  });

  it('fails for good when the operation outlasts its timeout', async () => {
    const t = setup();
    t.nc.holdOperations = true;
    const first = waiting(await t.deliver());
    t.advance(t.deps.operationTimeoutInMs + 1);
    expect(await rejectionOf(t.deliver(ATTACHED, first.checkpoint))).toMatchObject({
      code: 'OperationTimedOut',
      retryable: false,
    });
  });

  it('succeeds without a write when step 1 failed because two NICs hold the request’s address (it wrote nothing)', async () => {
    const t = setup({ nics: [nicWith(NIC), nicWith('ContainerHostVM2_Net0')] });
    const outcome = await t.deliver({
      steps: { addIpConfigurations: { status: 'Failed', attempts: 1 } },
      result: {},
    });
    expect(outcome).toMatchObject({ kind: 'succeeded', detail: { networkInterface: null, released: [] } });
    expect(t.nc.puts).toEqual([]);
  });

  it('when two NICs hold the request’s address, releases on the one that carries this attachment’s tags', async () => {
    const t = setup({ nics: [nicWith('ContainerHostVM2_Net0'), attachedNic()] });
    const outcome = await t.deliver({
      steps: { addIpConfigurations: { status: 'Failed', attempts: 1 } },
      result: {},
    });
    expect(outcome).toMatchObject({ kind: 'succeeded', detail: { networkInterface: NIC } });
    expect(t.addresses()).toEqual(LEFT_BY_OTHERS);
  });

  it('succeeds without a write when the NIC no longer exists (the VM was deleted before the detach)', async () => {
    const t = setup({ nics: [movedTo('192.168.1.10')(nicWith('ContainerHostVM2_Net0'))] });
    const outcome = await t.deliver();
    expect(outcome).toMatchObject({
      kind: 'succeeded',
      detail: { networkInterface: NIC, released: ['192.168.1.101', '192.168.1.102', '192.168.1.103'] },
    });
    expect(t.nc.puts).toEqual([]);
  });

  it.each<[string, InMemoryTenantStore]>([
    ['a tenant removed from the registry', new InMemoryTenantStore()],
    [
      'a tenant whose entry no longer lists the virtual network',
      InMemoryTenantStore.with({
        contoso: { ...exampleTenant('contoso'), networkControllers: { default: { virtualNetworks: ['VNet9'] } } },
      }),
    ],
    [
      'a tenant whose entry no longer lists the container host',
      InMemoryTenantStore.with({ contoso: { ...exampleTenant('contoso'), machines: [{ machineName: 'HV01' }] } }),
    ],
  ])('%s: TenantNotAuthorized before anything is read or written', async (_, registry) => {
    const t = setup({ registry });
    expect(await rejectionOf(t.deliver())).toMatchObject({ code: 'TenantNotAuthorized', retryable: false });
    expect(t.nc.calls).toEqual([]);
    expect(t.addresses().filter(([, owner]) => owner === ME)).toHaveLength(3);
  });

  it.each([
    [
      'a NIC on another tenant’s virtual network',
      nicWith(NIC, ipc('192.168.1.101', { [OWNER_TAG]: ME }, '/virtualNetworks/VNet2/subnets/Subnet1')),
      'NicNotInTenantNetwork',
    ],
    [
      'a NIC with a configuration on another tenant’s network besides',
      nicWith(
        NIC,
        ipc('192.168.1.101', { [OWNER_TAG]: ME }),
        ipc('192.168.1.120', undefined, '/virtualNetworks/VNet2/subnets/Subnet1'),
      ),
      'NicNotInTenantNetwork',
    ],
  ])('refuses %s, writing nothing', async (_, nic, code) => {
    const t = setup({ nics: [nic] });
    expect(await rejectionOf(t.deliver())).toMatchObject({ code, retryable: false });
    expect(t.nc.puts).toEqual([]);
  });
});

/** A NIC whose primary address is `address` (so the request's 192.168.1.9 is held by no NIC). */
function movedTo(address: string) {
  return (nic: NetworkInterface): NetworkInterface => ({
    ...nic,
    properties: {
      ...nic.properties,
      ipConfigurations: nic.properties.ipConfigurations.map((c) => ({
        ...c,
        properties: { ...c.properties, privateIPAddress: address },
      })),
    },
  });
}
