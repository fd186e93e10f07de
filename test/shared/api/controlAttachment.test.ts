import { describe, expect, it } from 'vitest';

import { cancelAttachment, retryAttachment } from '../../../shared/api/controlAttachment';
import { newAttachmentRecord, type RuntimeStatus } from '../../../shared/model/records';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { acceptedSeedRequest } from '../../support/seed';

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

  it.each<RuntimeStatus>(['Completed', 'Failed', 'Canceled'])('refuses a %s attachment', async (status) => {
    const store = await storeWith(status);
    expect((await cancelAttachment(store, 'contoso', 'seed-1', NOW)).kind).toBe('conflict');
  });

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
