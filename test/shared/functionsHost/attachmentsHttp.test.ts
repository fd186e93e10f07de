import { HttpRequest } from '@azure/functions';
import { beforeEach, describe, expect, it } from 'vitest';

import { makeGetAttachmentHandler } from '../../../shared/functionsHost/getHandler';
import { makeListAttachmentsHandler } from '../../../shared/functionsHost/listHandler';
import { stepQueueOutput } from '../../../shared/functionsHost/stepFunction';
import { makeSubmitAttachmentHandler } from '../../../shared/functionsHost/submitHandler';
import { stepMessage } from '../../../shared/model/messages';
import { attachmentRequest, BASE, postRequest, recordingContext, sent } from '../../support/functionsHost';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { seedRequest } from '../../support/seed';
import { labTenant } from '../../support/tenants';

const firstQueue = stepQueueOutput('addIpConfigurations');

describe('HTTP API handlers', () => {
  let store: InMemoryStateStore;
  let ids: number;
  let submit: ReturnType<typeof makeSubmitAttachmentHandler>;
  let status: ReturnType<typeof makeGetAttachmentHandler>;
  let list: ReturnType<typeof makeListAttachmentsHandler>;

  beforeEach(() => {
    store = new InMemoryStateStore();
    ids = 0;
    submit = makeSubmitAttachmentHandler(() => ({
      store,
      tenants: new InMemoryTenantStore({ lab: () => labTenant() }),
      knownControllers: new Set(['default']),
      arcDefaults: { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab' },
      newAttachmentId: () => `generated-${++ids}`,
      nowInMs: () => Date.parse('2026-11-28T10:00:00Z'),
      retryAfterInSeconds: 2,
    }));
    status = makeGetAttachmentHandler(() => ({ store, retryAfterInSeconds: 2 }));
    list = makeListAttachmentsHandler(() => ({ store, pageSizeMax: 100 }));
  });

  it('accepts a valid request: 202, Location, Retry-After, the first step enqueued', async () => {
    const ctx = recordingContext('submitAttachment').context;
    const response = await submit(postRequest('contoso', JSON.stringify(seedRequest())), ctx);
    expect(response.status).toBe(202);
    expect(response.headers).toMatchObject({ Location: `${BASE}/contoso/attachments/seed-1`, 'Retry-After': '2' });
    expect(response.jsonBody).toMatchObject({
      id: 'seed-1',
      runtimeStatus: 'Pending',
      statusQueryGetUri: `${BASE}/contoso/attachments/seed-1`,
    });
    expect(ctx.extraOutputs.get(firstQueue)).toEqual(
      sent({ schemaVersion: 1, tenantId: 'contoso', attachmentId: 'seed-1', step: 'addIpConfigurations' }),
    );
    expect((await store.getAttachment('contoso', 'seed-1'))?.request.nic).toEqual({ privateIpAddress: '192.168.1.9' });
  });

  it('generates an unguessable id when none is given', async () => {
    const { attachmentId: _omit, ...withoutId } = seedRequest();
    const response = await submit(
      postRequest('contoso', JSON.stringify(withoutId)),
      recordingContext('submitAttachment').context,
    );
    expect(response.jsonBody).toMatchObject({ id: 'generated-1' });
  });

  it('returns the same attachment for the same request again, without a second run once it started', async () => {
    await submit(postRequest('contoso', JSON.stringify(seedRequest())), recordingContext('submitAttachment').context);
    await store.updateAttachment('contoso', 'seed-1', (r) => ({
      record: {
        ...r,
        runtimeStatus: 'Running',
        steps: { ...r.steps, addIpConfigurations: { status: 'Running', attempts: 1 } },
      },
    }));
    const ctx = recordingContext('submitAttachment').context;
    const again = await submit(postRequest('contoso', JSON.stringify(seedRequest())), ctx);
    expect(again.status).toBe(202);
    expect(again.jsonBody).toMatchObject({ id: 'seed-1', created: false });
    expect(ctx.extraOutputs.get(firstQueue)).toBeUndefined();
  });

  it('sends the first step again for a repeated request whose attachment has not started', async () => {
    // The host that stored the row may have died before its output binding wrote the first message.
    await submit(postRequest('contoso', JSON.stringify(seedRequest())), recordingContext('submitAttachment').context);
    const ctx = recordingContext('submitAttachment').context;
    const again = await submit(postRequest('contoso', JSON.stringify(seedRequest())), ctx);
    expect(again.jsonBody).toMatchObject({ id: 'seed-1', created: false, runtimeStatus: 'Pending' });
    expect(ctx.extraOutputs.get(firstQueue)).toEqual(sent(stepMessage('contoso', 'seed-1', 'addIpConfigurations')));
    expect(await store.listHistory('contoso', 'seed-1')).toHaveLength(1);
  });

  it('refuses a different request under an attachmentId already used', async () => {
    await submit(postRequest('contoso', JSON.stringify(seedRequest())), recordingContext('submitAttachment').context);
    const ctx = recordingContext('submitAttachment').context;
    const other = await submit(postRequest('contoso', JSON.stringify(seedRequest({ subnetId: 'Subnet2' }))), ctx);
    expect(other.status).toBe(409);
    expect(ctx.extraOutputs.get(firstQueue)).toBeUndefined();
  });

  it.each([
    { name: 'malformed JSON', body: '{"virtualNetworkId":', fields: ['(body)'], code: 'InvalidJson' },
    { name: 'empty body', body: '', fields: ['(body)'], code: 'InvalidJson' },
    {
      name: 'oversized body',
      body: JSON.stringify({ pad: 'x'.repeat(70_000) }),
      fields: ['(body)'],
      code: 'RequestTooLarge',
    },
    { name: 'an array', body: '[]', fields: ['(body)'], code: 'InvalidRequest' },
    {
      name: 'many bad fields at once',
      body: JSON.stringify({
        ...seedRequest(),
        subnetId: "x' or 1 eq 1",
        nic: {},
        containerIps: { count: 0 },
        surprise: true,
      }),
      fields: ['subnetId', 'nic', 'containerIps.count', '(body)'],
      code: 'InvalidRequest',
    },
    {
      name: 'unknown controller',
      body: JSON.stringify(seedRequest({ networkController: 'lab' })),
      fields: ['networkController'],
      code: 'InvalidRequest',
    },
  ])('rejects $name with 400 naming every field, storing and enqueuing nothing', async ({ body, fields, code }) => {
    const ctx = recordingContext('submitAttachment').context;
    const response = await submit(postRequest('contoso', body), ctx);
    expect(response.status).toBe(400);
    const error = (response.jsonBody as { error: { code: string; details: { target: string }[] } }).error;
    expect(error.code).toBe(code);
    expect(error.details.map((d) => d.target)).toEqual(fields);
    expect(ctx.extraOutputs.get(firstQueue)).toBeUndefined();
    expect(store.writes).toBe(0);
  });

  it('rejects a bad tenant id in the route and a non-JSON content type', async () => {
    const badTenant = await submit(
      postRequest('..%2Fother', JSON.stringify(seedRequest())),
      recordingContext('submitAttachment').context,
    );
    expect(badTenant.status).toBe(400);
    const text = await submit(
      postRequest('contoso', JSON.stringify(seedRequest()), { 'content-type': 'text/plain' }),
      recordingContext('submitAttachment').context,
    );
    expect(text.status).toBe(400);
    expect(store.writes).toBe(0);
  });

  it('reports status: 202 with Retry-After while pending, 200 once ended, 404 when unknown or another tenant', async () => {
    await submit(postRequest('contoso', JSON.stringify(seedRequest())), recordingContext('submitAttachment').context);
    const pending = await status(attachmentRequest('GET', 'contoso', 'seed-1'));
    expect(pending.status).toBe(202);
    expect(pending.headers).toMatchObject({ 'Retry-After': '2' });
    expect(pending.jsonBody).toMatchObject({
      runtimeStatus: 'Pending',
      currentStep: 'addIpConfigurations',
      steps: [
        { order: 1, name: 'addIpConfigurations', status: 'Pending', attempts: 0 },
        { order: 2, name: 'enableNetworkProxy', status: 'Pending', attempts: 0 },
        { order: 3, name: 'installPrivateCloudPlugin', status: 'Pending', attempts: 0 },
        { order: 4, name: 'createContainerNetwork', status: 'Pending', attempts: 0 },
      ],
    });
    expect(JSON.stringify(pending.jsonBody)).not.toMatch(/checkpoint|lease|etag/);

    await store.updateAttachment('contoso', 'seed-1', (r) => ({ record: { ...r, runtimeStatus: 'Completed' } }));
    const done = await status(attachmentRequest('GET', 'contoso', 'seed-1', '?showHistory=true'));
    expect(done.status).toBe(200);
    expect((done.jsonBody as { history: { type: string }[] }).history[0]?.type).toBe('Submitted');

    expect((await status(attachmentRequest('GET', 'contoso', 'nope'))).status).toBe(404);
    expect((await status(attachmentRequest('GET', 'fabrikam', 'seed-1'))).status).toBe(404);
  });

  it('lists a tenant’s attachments, filtered by runtime status and paged', async () => {
    for (let i = 0; i < 5; i++) {
      await submit(
        postRequest('contoso', JSON.stringify(seedRequest({ attachmentId: `a${i}` }))),
        recordingContext('submitAttachment').context,
      );
    }
    await submit(
      postRequest('fabrikam', JSON.stringify(seedRequest({ attachmentId: 'f1' }))),
      recordingContext('submitAttachment').context,
    );
    await store.updateAttachment('contoso', 'a3', (r) => ({ record: { ...r, runtimeStatus: 'Failed' } }));

    const url = (q: string) =>
      new HttpRequest({ method: 'GET', url: `${BASE}/contoso/attachments${q}`, params: { tenantId: 'contoso' } });
    const page1 = await list(url('?top=2'));
    const body1 = page1.jsonBody as { value: { id: string }[]; nextLink: string };
    expect(body1.value.map((v) => v.id)).toEqual(['a0', 'a1']);
    const next = new URL(body1.nextLink);
    const page2 = await list(url(next.search));
    expect((page2.jsonBody as { value: { id: string }[] }).value.map((v) => v.id)).toEqual(['a2', 'a3']);

    const failed = await list(url('?runtimeStatus=Failed'));
    expect((failed.jsonBody as { value: { id: string }[] }).value.map((v) => v.id)).toEqual(['a3']);

    const bad = await list(url('?runtimeStatus=Exploded&top=0'));
    expect(bad.status).toBe(400);
    const targets = (bad.jsonBody as { error: { details: { target: string }[] } }).error.details.map((d) => d.target);
    expect(targets).toEqual(['runtimeStatus', 'top']);
  });
});

describe('submit without Arc defaults', () => {
  it('asks for the subscription and resource group of each machine when no default is configured', async () => {
    const store = new InMemoryStateStore();
    const submit = makeSubmitAttachmentHandler(() => ({
      store,
      tenants: new InMemoryTenantStore({ lab: () => labTenant() }),
      knownControllers: new Set(['default']),
      arcDefaults: {},
      newAttachmentId: () => 'x',
      nowInMs: () => 0,
      retryAfterInSeconds: 2,
    }));
    const request = new HttpRequest({
      method: 'POST',
      url: `${BASE}/contoso/attachments`,
      params: { tenantId: 'contoso' },
      headers: { 'content-type': 'application/json' },
      body: { string: JSON.stringify(seedRequest({ containerHost: { machineName: 'VM1', resourceGroup: 'rg' } })) },
    });
    const response = await submit(request, recordingContext('submitAttachment').context);
    expect(response.status).toBe(400);
    const targets = (response.jsonBody as { error: { details: { target: string }[] } }).error.details.map(
      (d) => d.target,
    );
    expect(targets).toEqual(['hyperVHost.subscriptionId', 'hyperVHost.resourceGroup', 'containerHost.subscriptionId']);
    expect(store.writes).toBe(0);
  });
});
