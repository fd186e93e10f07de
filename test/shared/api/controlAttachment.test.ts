import { describe, expect, it } from 'vitest';

import { cancelAttachment, detachAttachment, retryAttachment } from '../../../shared/api/controlAttachment';
import { stepMessage } from '../../../shared/model/messages';
import {
  type AttachmentRecord,
  newAttachmentRecord,
  type RuntimeStatus,
  type StepState,
} from '../../../shared/model/records';
import type { TenantEntryInput } from '../../../shared/model/tenant';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

const NOW = Date.parse('2026-11-28T12:00:00Z');

async function storeWith(status: RuntimeStatus) {
  const store = new InMemoryStateStore();
  await store.createAttachment(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T11:00:00.000Z'), []);
  await store.updateAttachment('contoso', 'seed-1', (r) => ({
    record: {
      ...r,
      runtimeStatus: status,
      currentStep: 'enableNetworkProxy',
      steps: {
        ...r.steps,
        addIpConfigurations: { status: 'Succeeded', attempts: 1 },
        enableNetworkProxy: {
          status: status === 'Failed' ? 'Failed' : 'Running',
          attempts: 5,
          lastError: { source: 'RunCommand', code: 'RunCommandTimedOut', message: 'slow', retryable: true },
          checkpoint: { run: { runCommandName: 'x' }, keep: 1 },
        },
      },
    },
  }));
  return store;
}

describe('cancelAttachment', () => {
  it.each<RuntimeStatus>(['Pending', 'Running'])('marks a %s attachment for cancellation, once', async (status) => {
    const store = await storeWith(status);
    const outcome = await cancelAttachment(store, 'contoso', 'seed-1', NOW);
    expect(outcome.kind).toBe('accepted');
    expect((await store.getAttachment('contoso', 'seed-1'))?.cancelRequested).toBe(true);
    const writes = store.writes;
    expect((await cancelAttachment(store, 'contoso', 'seed-1', NOW)).kind).toBe('accepted');
    expect(store.writes).toBe(writes);
  });

  it.each<RuntimeStatus>(['Completed', 'Failed', 'Canceled', 'Detaching', 'Detached'])(
    'refuses a %s attachment',
    async (status) => {
      const store = await storeWith(status);
      expect((await cancelAttachment(store, 'contoso', 'seed-1', NOW)).kind).toBe('conflict');
    },
  );

  it('does not find another tenant’s attachment', async () => {
    const store = await storeWith('Running');
    expect((await cancelAttachment(store, 'fabrikam', 'seed-1', NOW)).kind).toBe('notFound');
  });
});

describe('retryAttachment', () => {
  it('restarts the failed step with fresh attempts, keeping what it had decided but not the spent run', async () => {
    const store = await storeWith('Failed');
    const outcome = await retryAttachment(store, 'contoso', 'seed-1', NOW);
    expect(outcome).toMatchObject({
      kind: 'accepted',
      start: { step: 'enableNetworkProxy', tenantId: 'contoso', attachmentId: 'seed-1' },
    });
    const record = await store.getAttachment('contoso', 'seed-1');
    expect(record).toMatchObject({ runtimeStatus: 'Pending', currentStep: 'enableNetworkProxy', lastError: undefined });
    expect(record?.steps.addIpConfigurations.status).toBe('Succeeded');
    expect(record?.steps.enableNetworkProxy).toEqual({ status: 'Pending', attempts: 0, checkpoint: { keep: 1 } });
    expect((await store.listHistory('contoso', 'seed-1')).at(-1)).toMatchObject({
      type: 'Retried',
      step: 'enableNetworkProxy',
    });
  });

  it.each<RuntimeStatus>(['Pending', 'Running', 'Completed', 'Canceled'])('refuses a %s attachment', async (status) => {
    const store = await storeWith(status);
    expect((await retryAttachment(store, 'contoso', 'seed-1', NOW)).kind).toBe('conflict');
  });
});

describe('detachAttachment', () => {
  const done: StepState = { status: 'Succeeded', attempts: 1 };
  const ATTACHED = {
    addIpConfigurations: done,
    enableNetworkProxy: done,
    installPrivateCloudPlugin: done,
    createContainerNetwork: done,
  };

  /** The seed attachment stored as `fields` and `steps` say, and a registry with contoso's entry (or `entry`). */
  async function world(
    fields: Partial<AttachmentRecord>,
    steps: Partial<Record<keyof AttachmentRecord['steps'], StepState>> = {},
    entry: TenantEntryInput | null = exampleTenant('contoso'),
  ) {
    const store = new InMemoryStateStore();
    const base = newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T11:00:00.000Z');
    await store.createAttachment({ ...base, ...fields, steps: { ...base.steps, ...steps } }, [{ type: 'Submitted' }]);
    const tenants = entry ? InMemoryTenantStore.with({ contoso: entry }) : new InMemoryTenantStore();
    const deps = { store, tenants, arcDefaults: LAB_DEFAULTS, nowInMs: () => NOW };
    const detach = (tenantId = 'contoso', attachmentId = 'seed-1') => detachAttachment(deps, tenantId, attachmentId);
    const history = async () => (await store.listHistory('contoso', 'seed-1')).map((e) => e.type);
    return { store, tenants, detach, history };
  }

  it.each<[RuntimeStatus, Partial<AttachmentRecord>, Partial<Record<string, StepState>>]>([
    ['Completed', { runtimeStatus: 'Completed', currentStep: undefined }, ATTACHED],
    [
      'Failed',
      {
        runtimeStatus: 'Failed',
        currentStep: 'enableNetworkProxy',
        lastError: { source: 'RunCommand', code: 'X', message: 'x', retryable: false },
      },
      { addIpConfigurations: done, enableNetworkProxy: { status: 'Failed', attempts: 3 } },
    ],
    [
      'Canceled',
      { runtimeStatus: 'Canceled', currentStep: 'installPrivateCloudPlugin', cancelRequested: true },
      {
        addIpConfigurations: done,
        enableNetworkProxy: done,
        installPrivateCloudPlugin: { status: 'Canceled', attempts: 0 },
      },
    ],
  ])('starts detaching a %s attachment now, and sends the first detach step', async (status, fields, steps) => {
    const w = await world(fields, steps);
    const before = await w.store.getAttachment('contoso', 'seed-1');
    const outcome = await w.detach();
    expect(outcome).toMatchObject({
      kind: 'accepted',
      start: stepMessage('contoso', 'seed-1', 'removeContainerNetwork'),
    });
    const record = await w.store.getAttachment('contoso', 'seed-1');
    expect(record).toMatchObject({
      runtimeStatus: 'Detaching',
      currentStep: 'removeContainerNetwork',
      detachRequested: true,
      cancelRequested: false,
      lastError: undefined,
    });
    // The attach's steps stay as they ended: the detach reads how far it got.
    for (const name of [
      'addIpConfigurations',
      'enableNetworkProxy',
      'installPrivateCloudPlugin',
      'createContainerNetwork',
    ] as const)
      expect(record?.steps[name]).toEqual(before?.steps[name]);
    expect(await w.history()).toEqual(['Submitted', 'DetachRequested', 'DetachStarted']);
    expect((await w.store.listHistory('contoso', 'seed-1')).at(-1)?.message).toBe(`from ${status}`);
  });

  it.each<[RuntimeStatus, Partial<Record<string, StepState>>]>([
    ['Pending', {}],
    [
      'Running',
      { addIpConfigurations: done, enableNetworkProxy: { status: 'Running', attempts: 1, leaseOwner: 'inv' } },
    ],
  ])('cancels a %s attachment at its next step boundary, asking the detach to follow; once', async (status, steps) => {
    const w = await world(
      { runtimeStatus: status, currentStep: status === 'Pending' ? 'addIpConfigurations' : 'enableNetworkProxy' },
      steps,
    );
    const outcome = await w.detach();
    expect(outcome.kind).toBe('accepted');
    // Nothing to send: the attach step's own message (or the one under way) carries it to the boundary.
    expect(outcome).not.toHaveProperty('start');
    expect(await w.store.getAttachment('contoso', 'seed-1')).toMatchObject({
      runtimeStatus: status,
      cancelRequested: true,
      detachRequested: true,
    });
    expect(await w.history()).toEqual(['Submitted', 'DetachRequested']);
    const writes = w.store.writes;
    expect(await w.detach()).toMatchObject({ kind: 'accepted', record: { detachRequested: true } });
    expect(w.store.writes).toBe(writes);
  });

  it('asks a Running attachment already asked to cancel to detach as well', async () => {
    const w = await world({ runtimeStatus: 'Running', currentStep: 'enableNetworkProxy', cancelRequested: true });
    await w.detach();
    expect(await w.store.getAttachment('contoso', 'seed-1')).toMatchObject({
      cancelRequested: true,
      detachRequested: true,
    });
  });

  it('answers a detach under way as it stands, writing nothing; sends its step again while that has not started', async () => {
    const w = await world(
      { runtimeStatus: 'Detaching', currentStep: 'removeContainerNetwork', detachRequested: true },
      ATTACHED,
    );
    const writes = w.store.writes;
    expect(await w.detach()).toMatchObject({
      kind: 'accepted',
      record: { runtimeStatus: 'Detaching' },
      start: stepMessage('contoso', 'seed-1', 'removeContainerNetwork'),
    });
    await w.store.updateAttachment('contoso', 'seed-1', (r) => ({
      record: {
        ...r,
        steps: { ...r.steps, removeContainerNetwork: { status: 'Running', attempts: 1, leaseOwner: 'inv' } },
      },
    }));
    const started = await w.detach();
    expect(started).toMatchObject({ kind: 'accepted' });
    expect(started).not.toHaveProperty('start');
    expect(w.store.writes).toBe(writes + 1);
    expect(await w.history()).toEqual(['Submitted']);
  });

  it('answers a Detached attachment as it is, writing and sending nothing', async () => {
    const w = await world(
      { runtimeStatus: 'Detached', currentStep: undefined, detachRequested: true },
      {
        ...ATTACHED,
        removeContainerNetwork: done,
        removeIpConfigurations: done,
      },
    );
    const writes = w.store.writes;
    const outcome = await w.detach();
    expect(outcome).toMatchObject({ kind: 'accepted', record: { runtimeStatus: 'Detached' } });
    expect(outcome).not.toHaveProperty('start');
    expect(w.store.writes).toBe(writes);
  });

  it('resumes a detach that Failed at its failed step, keeping what that step had decided but not its spent operation', async () => {
    const failure = { source: 'NetworkController' as const, code: 'Boom', message: 'x', retryable: false };
    const w = await world(
      { runtimeStatus: 'Failed', currentStep: 'removeIpConfigurations', detachRequested: true, lastError: failure },
      {
        ...ATTACHED,
        removeContainerNetwork: { ...done, detail: { removed: true } },
        removeIpConfigurations: {
          status: 'Failed',
          attempts: 5,
          lastError: failure,
          checkpoint: { nicId: 'ContainerHostVM1_Net0', operation: { url: 'u', startedAtInMs: 1 } },
        },
      },
    );
    const outcome = await w.detach();
    expect(outcome).toMatchObject({
      kind: 'accepted',
      start: stepMessage('contoso', 'seed-1', 'removeIpConfigurations'),
    });
    const record = await w.store.getAttachment('contoso', 'seed-1');
    expect(record).toMatchObject({
      runtimeStatus: 'Detaching',
      currentStep: 'removeIpConfigurations',
      lastError: undefined,
    });
    expect(record?.steps.removeContainerNetwork).toMatchObject({ status: 'Succeeded', detail: { removed: true } });
    expect(record?.steps.removeIpConfigurations).toEqual({
      status: 'Pending',
      attempts: 0,
      checkpoint: { nicId: 'ContainerHostVM1_Net0' },
    });
    expect(await w.history()).toEqual(['Submitted', 'Retried']);
  });

  it('finds nothing for an unknown attachment, or another tenant’s, before asking the registry', async () => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined }, ATTACHED);
    const reads = w.tenants.reads;
    expect(await w.detach('contoso', 'nope')).toEqual({ kind: 'notFound' });
    expect(await w.detach('fabrikam', 'seed-1')).toEqual({ kind: 'notFound' });
    expect(w.tenants.reads).toBe(reads);
    expect(w.store.writes).toBe(1);
  });

  it.each<[string, TenantEntryInput | null, string[]]>([
    ['a tenant no longer registered', null, ['tenantId']],
    [
      'an entry that no longer lists the virtual network',
      { ...exampleTenant('contoso'), networkControllers: { default: { virtualNetworks: ['VNet9'] } } },
      ['virtualNetworkId'],
    ],
    [
      'an entry that no longer lists the controller',
      { ...exampleTenant('contoso'), networkControllers: { other: { virtualNetworks: ['VNet1'] } } },
      ['networkController'],
    ],
    [
      'an entry that no longer lists the machines',
      { ...exampleTenant('contoso'), machines: [{ machineName: 'SomeOtherVM' }] },
      ['hyperVHost.machineName', 'containerHost.machineName'],
    ],
  ])('is forbidden (TenantNotAuthorized) for %s, naming the fields, writing nothing', async (_, entry, fields) => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined }, ATTACHED, entry);
    const outcome = await w.detach();
    expect(outcome.kind).toBe('forbidden');
    expect(outcome.kind === 'forbidden' && outcome.issues.map((i) => i.field)).toEqual(fields);
    expect(w.store.writes).toBe(1);
    expect(await w.history()).toEqual(['Submitted']);
  });

  it('applies to the record as it is at the write: an attach that completed meanwhile starts detaching at once', async () => {
    const w = await world(
      { runtimeStatus: 'Running', currentStep: 'createContainerNetwork' },
      { ...ATTACHED, createContainerNetwork: { status: 'Running', attempts: 1, leaseOwner: 'inv' } },
    );
    // The attach's last step ends between the detach's read and its write.
    const read = w.store.getAttachment.bind(w.store);
    w.store.getAttachment = async (tenantId, attachmentId) => {
      const seen = await read(tenantId, attachmentId);
      w.store.getAttachment = read;
      await w.store.updateAttachment('contoso', 'seed-1', (r) => ({
        record: {
          ...r,
          runtimeStatus: 'Completed',
          currentStep: undefined,
          steps: { ...r.steps, createContainerNetwork: done },
        },
      }));
      return seen;
    };
    const outcome = await w.detach();
    expect(w.store.conflicts).toBe(1);
    expect(outcome).toMatchObject({
      kind: 'accepted',
      record: { runtimeStatus: 'Detaching', currentStep: 'removeContainerNetwork' },
      start: stepMessage('contoso', 'seed-1', 'removeContainerNetwork'),
    });
  });
});

describe('cancelAttachment during a detach', () => {
  it('refuses a Detaching attachment: a detach, once started, runs to its end', async () => {
    const store = await storeWith('Completed');
    const deps = {
      store,
      tenants: InMemoryTenantStore.with({ contoso: exampleTenant('contoso') }),
      arcDefaults: LAB_DEFAULTS,
      nowInMs: () => NOW,
    };
    expect((await detachAttachment(deps, 'contoso', 'seed-1')).kind).toBe('accepted');
    const writes = store.writes;
    const outcome = await cancelAttachment(store, 'contoso', 'seed-1', NOW);
    expect(outcome).toMatchObject({ kind: 'conflict', reason: expect.stringContaining('is Detaching') as unknown });
    expect(store.writes).toBe(writes);
    expect((await store.getAttachment('contoso', 'seed-1'))?.cancelRequested).toBe(false);
  });
});
