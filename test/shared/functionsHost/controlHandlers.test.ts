import { describe, expect, it } from 'vitest';

import { makeDetachAttachmentHandler } from '../../../shared/functionsHost/controlHandlers';
import { makeGetAttachmentHandler } from '../../../shared/functionsHost/getHandler';
import { stepQueueOutput } from '../../../shared/functionsHost/stepFunction';
import { stepMessage } from '../../../shared/model/messages';
import { type AttachmentRecord, newAttachmentRecord, type StepState } from '../../../shared/model/records';
import type { TenantEntryInput } from '../../../shared/model/tenant';
import { attachmentRequest, BASE, NOW, recordingContext, sent } from '../../support/functionsHost';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

const done: StepState = { status: 'Succeeded', attempts: 1 };
const ATTACHED = {
  addIpConfigurations: done,
  enableNetworkProxy: done,
  installPrivateCloudPlugin: done,
  createContainerNetwork: done,
};
const URL = `${BASE}/contoso/attachments/seed-1`;

async function world(
  fields: Partial<AttachmentRecord>,
  steps: Partial<AttachmentRecord['steps']> = ATTACHED,
  entry: TenantEntryInput = exampleTenant('contoso'),
) {
  const store = new InMemoryStateStore();
  const base = newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T09:00:00.000Z');
  await store.createAttachment({ ...base, ...fields, steps: { ...base.steps, ...steps } }, [{ type: 'Submitted' }]);
  const tenants = InMemoryTenantStore.with({ contoso: entry });
  const detach = makeDetachAttachmentHandler(() => ({
    store,
    tenants,
    arcDefaults: LAB_DEFAULTS,
    nowInMs: () => NOW,
    retryAfterInSeconds: 2,
  }));
  const status = makeGetAttachmentHandler(() => ({ store, retryAfterInSeconds: 2 }));
  const call = async (tenantId = 'contoso', id = 'seed-1') => {
    const { context, outputs, logs } = recordingContext('detachAttachment');
    const response = await detach(attachmentRequest('DELETE', tenantId, id), context);
    return { response, outputs, logs };
  };
  return { store, detach: call, status };
}

describe('DELETE .../attachments/{id}', () => {
  it('answers 202 with Location and Retry-After, and sends the first detach step, for an attachment that ended', async () => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined });
    const { response, outputs } = await w.detach();
    expect(response.status).toBe(202);
    expect(response.headers).toEqual({ Location: URL, 'Retry-After': '2' });
    expect(response.jsonBody).toEqual({
      id: 'seed-1',
      tenantId: 'contoso',
      runtimeStatus: 'Detaching',
      currentStep: 'removeContainerNetwork',
      createdTime: '2026-11-28T09:00:00.000Z',
      lastUpdatedTime: new Date(NOW).toISOString(),
      statusQueryGetUri: URL,
      detachRequested: true,
    });
    expect(outputs).toEqual([
      {
        name: stepQueueOutput('removeContainerNetwork').name,
        value: sent(stepMessage('contoso', 'seed-1', 'removeContainerNetwork')),
      },
    ]);
  });

  it('answers 202 and sends nothing for a Running attachment: it stops at its next step boundary first', async () => {
    const w = await world(
      { runtimeStatus: 'Running', currentStep: 'enableNetworkProxy' },
      { addIpConfigurations: done, enableNetworkProxy: { status: 'Running', attempts: 1, leaseOwner: 'inv' } },
    );
    const { response, outputs } = await w.detach();
    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ runtimeStatus: 'Running', detachRequested: true });
    expect(outputs).toEqual([]);
  });

  it('answers 200 with the document, no Location, once Detached; and sends nothing', async () => {
    const w = await world(
      { runtimeStatus: 'Detached', currentStep: undefined, detachRequested: true },
      { ...ATTACHED, removeContainerNetwork: done, removeIpConfigurations: done },
    );
    const { response, outputs } = await w.detach();
    expect(response.status).toBe(200);
    expect(response.headers).toBeUndefined();
    expect(response.jsonBody).toMatchObject({ runtimeStatus: 'Detached', currentStep: null, detachRequested: true });
    expect(outputs).toEqual([]);
  });

  it('answers 404 NotFound for an unknown attachment, and another tenant’s', async () => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined });
    for (const [tenantId, id] of [
      ['contoso', 'nope'],
      ['fabrikam', 'seed-1'],
    ]) {
      const { response, outputs } = await w.detach(tenantId, id);
      expect(response.status).toBe(404);
      expect(response.jsonBody).toEqual({
        error: { code: 'NotFound', message: `Attachment ${id} of tenant ${tenantId} was not found.` },
      });
      expect(outputs).toEqual([]);
    }
    expect(w.store.writes).toBe(1);
  });

  it('answers 403 TenantNotAuthorized, naming each field, when the registry no longer covers the attachment', async () => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined }, ATTACHED, {
      ...exampleTenant('contoso'),
      networkControllers: { default: { virtualNetworks: ['VNet9'] } },
    });
    const { response, outputs } = await w.detach();
    expect(response.status).toBe(403);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'TenantNotAuthorized',
        message:
          'The tenant may not make this request: virtualNetworkId: tenant "contoso" may not use virtual network "VNet1"',
        details: [
          {
            code: 'TenantNotAuthorized',
            target: 'virtualNetworkId',
            message: 'tenant "contoso" may not use virtual network "VNet1"',
          },
        ],
      },
    });
    expect(outputs).toEqual([]);
    expect(w.store.writes).toBe(1);
  });

  it('answers 400 naming the route parameter that is not well-formed', async () => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined });
    expect((await w.detach('contoso', '../seed-1')).response.jsonBody).toMatchObject({
      error: { code: 'InvalidRequest', details: [{ target: 'id' }] },
    });
    expect((await w.detach('con toso', 'seed-1')).response.jsonBody).toMatchObject({
      error: { details: [{ target: 'tenantId' }] },
    });
    expect(w.store.writes).toBe(1);
  });

  it('the status document shows the detach steps once a detach was asked for, and keeps answering 202 until Detached', async () => {
    const w = await world({ runtimeStatus: 'Completed', currentStep: undefined });
    const before = await w.status(attachmentRequest('GET', 'contoso', 'seed-1'));
    expect(before.jsonBody).not.toHaveProperty('detachSteps');
    await w.detach();
    const during = await w.status(attachmentRequest('GET', 'contoso', 'seed-1'));
    expect(during.status).toBe(202);
    expect(during.jsonBody).toMatchObject({
      runtimeStatus: 'Detaching',
      steps: [{ status: 'Succeeded' }, { status: 'Succeeded' }, { status: 'Succeeded' }, { status: 'Succeeded' }],
      detachSteps: [
        { order: 1, name: 'removeContainerNetwork', status: 'Pending', attempts: 0 },
        { order: 2, name: 'removeIpConfigurations', status: 'Pending', attempts: 0 },
      ],
    });
  });
});
