import { HttpRequest } from '@azure/functions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { submitAttachment } from '../../../shared/api/submitAttachment';
import { makeAcceptAttachRequestHandler } from '../../../shared/functionsHost/acceptHandler';
import { accessPolicy } from '../../../shared/functionsHost/access';
import { forTenantCallers } from '../../../shared/functionsHost/access';
import {
  makeDeleteTenantHandler,
  makeGetTenantHandler,
  makeListTenantsHandler,
  makePutTenantHandler,
} from '../../../shared/functionsHost/adminHandlers';
import {
  makeCancelAttachmentHandler,
  makeDetachAttachmentHandler,
  makeRetryAttachmentHandler,
} from '../../../shared/functionsHost/controlHandlers';
import { makeGetAttachmentHandler } from '../../../shared/functionsHost/getHandler';
import { makeRemovePrivateCloudPluginHandler } from '../../../shared/functionsHost/pluginHandlers';
import { makeSubmitAttachmentHandler } from '../../../shared/functionsHost/submitHandler';
import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import { attachmentRequest, NOW, postRequest, recordingContext } from '../../support/functionsHost';
import { InMemoryMachineTaskStore } from '../../support/InMemoryMachineTaskStore';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { seedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

const OPERATOR = 'aaaaaaaa-0000-4000-8000-000000000001';
const CONTOSO_USER = 'bbbbbbbb-0000-4000-8000-000000000002';
const FABRIKAM_GROUP = 'cccccccc-0000-4000-8000-000000000003';
const IDENTITY = { platformAuthEnabled: true, operatorRole: 'SdnAttach.Operator', tenantRole: 'SdnAttach.Tenant' };

/** x-ms-client-principal as App Service Authentication sends it. */
function principal(id: string, roles: string[], groups: string[] = []): Record<string, string> {
  const claims = [
    { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: id },
    ...roles.map((val) => ({ typ: 'roles', val })),
    ...groups.map((val) => ({ typ: 'groups', val })),
  ];
  const body = { auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims };
  return { 'x-ms-client-principal': Buffer.from(JSON.stringify(body)).toString('base64') };
}
const asOperator = principal(OPERATOR, ['SdnAttach.Operator']);
const asContoso = principal(CONTOSO_USER, ['SdnAttach.Tenant']);
const asFabrikam = principal('dddddddd-0000-4000-8000-000000000004', ['SdnAttach.Tenant'], [FABRIKAM_GROUP]);

function world() {
  const store = new InMemoryStateStore();
  const tenants = InMemoryTenantStore.with({
    contoso: { ...exampleTenant('contoso'), principals: [CONTOSO_USER] },
    fabrikam: { ...exampleTenant('fabrikam'), principals: [FABRIKAM_GROUP] },
  });
  const access = accessPolicy({ identity: IDENTITY });
  const submitDeps = () => ({
    store,
    tenants,
    knownControllers: new Set(['default', 'other']),
    arcDefaults: LAB_DEFAULTS,
    guestCredentialsConfigured: true,
    newAttachmentId: () => 'generated',
    nowInMs: () => NOW,
    retryAfterInSeconds: 2,
  });
  const poisoned: unknown[] = [];
  const pluginRuns: string[] = [];
  const admin = () => ({ tenants, store, access, pageSizeMax: 100 });
  const guard = () => ({ access, tenants });
  return {
    store,
    tenants,
    poisoned,
    submit: forTenantCallers(guard, makeSubmitAttachmentHandler(submitDeps)),
    get: forTenantCallers(
      guard,
      makeGetAttachmentHandler(() => ({ store, retryAfterInSeconds: 2 })),
    ),
    cancel: forTenantCallers(
      guard,
      makeCancelAttachmentHandler(() => ({ store, nowInMs: () => NOW, retryAfterInSeconds: 2 })),
    ),
    retry: forTenantCallers(
      guard,
      makeRetryAttachmentHandler(() => ({ store, nowInMs: () => NOW, retryAfterInSeconds: 2 })),
    ),
    detach: forTenantCallers(
      guard,
      makeDetachAttachmentHandler(() => ({
        store,
        tenants,
        arcDefaults: LAB_DEFAULTS,
        nowInMs: () => NOW,
        retryAfterInSeconds: 2,
      })),
    ),
    accept: makeAcceptAttachRequestHandler(() => ({
      ...submitDeps(),
      sendToPoison: (message) => {
        poisoned.push(message);
        return Promise.resolve();
      },
    })),
    put: makePutTenantHandler(admin),
    getTenant: makeGetTenantHandler(admin),
    list: makeListTenantsHandler(admin),
    remove: makeDeleteTenantHandler(admin),
    pluginRuns,
    removePlugin: makeRemovePrivateCloudPluginHandler(() => ({
      access,
      defaults: LAB_DEFAULTS,
      removal: {
        tasks: new InMemoryMachineTaskStore(),
        wake: () => Promise.resolve(),
        watch: () => Promise.resolve({ messageId: 'm', popReceipt: 'p' }),
        unwatch: () => Promise.resolve(true),
        containerHostUsers: (machineName) => store.listContainerHostUsers(machineName),
        runScript: (machine) => {
          pluginRuns.push(machine.machineName);
          return Promise.resolve({ changed: false });
        },
        stableUuid: () => 'hash',
        defaults: LAB_DEFAULTS,
        nowInMs: () => NOW,
      },
    })),
  };
}

function post(tenantId: string, body: unknown, headers: Record<string, string>) {
  return postRequest(tenantId, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
}

function adminRequest(method: string, tenantId: string | undefined, headers: Record<string, string>, body?: unknown) {
  return new HttpRequest({
    method,
    url: `http://127.0.0.1:7071/api/admin/tenants${tenantId ? `/${tenantId}` : ''}`,
    params: tenantId ? { area: 'admin', tenantId } : { area: 'admin' },
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: { string: JSON.stringify(body) } }),
  });
}

const errorOf = (body: unknown) =>
  (body as { error: { code: string; details?: { code: string; target: string }[] } }).error;

describe('submit: a tenant may name only what its registry entry lists', () => {
  const fabrikamOwn = { virtualNetworkId: 'VNet2', containerHost: { machineName: 'FabrikamVM1' } };

  it.each<[string, string, Partial<AttachRequestInput>, string[]]>([
    ['an unregistered tenant', 'nobody', {}, ['tenantId']],
    [
      'another tenant’s virtual network',
      'fabrikam',
      { containerHost: { machineName: 'FabrikamVM1' } },
      ['virtualNetworkId'],
    ],
    [
      'another tenant’s machine',
      'fabrikam',
      { ...fabrikamOwn, containerHost: { machineName: 'ContainerHostVM1' } },
      ['containerHost.machineName'],
    ],
    [
      'a machine in another resource group',
      'contoso',
      { hyperVHost: { machineName: 'HV01', resourceGroup: 'other-rg' } },
      ['hyperVHost.machineName'],
    ],
    ['a controller not listed', 'contoso', { networkController: 'other' }, ['networkController']],
    ['everything of another tenant at once', 'fabrikam', {}, ['virtualNetworkId', 'containerHost.machineName']],
  ])(
    'refuses %s with 403 TenantNotAuthorized naming the field; stores and enqueues nothing',
    async (_, tenantId, overrides, fields) => {
      const w = world();
      const { context, outputs } = recordingContext('submitAttachment');
      const response = await w.submit(post(tenantId, seedRequest(overrides), asOperator), context);
      expect(response.status).toBe(403);
      const error = errorOf(response.jsonBody);
      expect(error.code).toBe('TenantNotAuthorized');
      expect(error.details?.map((d) => d.target)).toEqual(fields);
      expect(error.details?.every((d) => d.code === 'TenantNotAuthorized')).toBe(true);
      expect(w.store.writes).toBe(0);
      expect(outputs).toEqual([]);
    },
  );

  it('accepts the same request on the tenant’s own network and machines', async () => {
    const w = world();
    const { context, outputs } = recordingContext('submitAttachment');
    const response = await w.submit(post('fabrikam', seedRequest(fabrikamOwn), asFabrikam), context);
    expect(response.status).toBe(202);
    expect(outputs).toHaveLength(1);
  });

  it('enforces the quotas: addresses per attachment and attachments in flight', async () => {
    const w = world();
    w.tenants.set('contoso', {
      ...(await w.tenants.getTenant('contoso'))!.entry,
      quotas: { addressesPerAttachment: 5, attachmentsInFlight: 1 },
    });
    const tooMany = await w.submit(post('contoso', seedRequest(), asOperator), recordingContext('s').context);
    expect(tooMany.status).toBe(403);
    expect(errorOf(tooMany.jsonBody)).toMatchObject({
      code: 'TenantQuotaExceeded',
      details: [{ target: 'containerIps' }],
    });
    const first = seedRequest({ attachmentId: 'q1', containerIps: { count: 2 } });
    expect((await w.submit(post('contoso', first, asOperator), recordingContext('s').context)).status).toBe(202);
    // The same attachment again is a repeat, not a second one in flight.
    expect((await w.submit(post('contoso', first, asOperator), recordingContext('s').context)).status).toBe(202);
    const second = await w.submit(
      post('contoso', { ...first, attachmentId: 'q2' }, asOperator),
      recordingContext('s').context,
    );
    expect(errorOf(second.jsonBody)).toMatchObject({ code: 'TenantQuotaExceeded', details: [{ target: 'tenantId' }] });
  });

  it('the entry queue poisons what the registry refuses, with the reason, and stores nothing', async () => {
    const w = world();
    const { context, logs, outputs } = recordingContext('acceptAttachRequest', { dequeueCount: 1 });
    const message = {
      schemaVersion: 1,
      tenantId: 'fabrikam',
      ...seedRequest({ nic: { resourceId: 'ContainerHostVM1_Net0' } }),
    };
    await w.accept(message, context);
    expect(w.poisoned).toEqual([message]);
    expect(logs.find((l) => l.startsWith('error:'))).toContain('TenantNotAuthorized: virtualNetworkId');
    expect(w.store.writes).toBe(0);
    expect(outputs).toEqual([]);
  });

  it('property: whatever a request names, it is accepted exactly when the tenant’s entry lists all of it', async () => {
    const vnets = ['VNet1', 'VNet2'];
    const machines = ['HV01', 'ContainerHostVM1', 'ContainerHostVM2', 'FabrikamVM1'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('contoso', 'fabrikam', 'nobody'),
        fc.constantFrom(...vnets),
        fc.constantFrom(...machines),
        fc.constantFrom(...machines),
        fc.constantFrom('default', 'other'),
        async (tenantId, virtualNetworkId, hyperV, container, networkController) => {
          const w = world();
          const response = await w.submit(
            post(
              tenantId,
              seedRequest({
                virtualNetworkId,
                networkController,
                hyperVHost: { machineName: hyperV },
                containerHost: { machineName: container },
              }),
              asOperator,
            ),
            recordingContext('s').context,
          );
          const entry = tenantId === 'nobody' ? undefined : exampleTenant(tenantId);
          const allowed =
            entry !== undefined &&
            networkController === 'default' &&
            entry.networkControllers.default!.virtualNetworks.includes(virtualNetworkId) &&
            [hyperV, container].every((m) => entry.machines.some((listed) => listed.machineName === m));
          expect(response.status).toBe(allowed ? 202 : 403);
          if (!allowed) expect(w.store.writes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('submit: a VM reached through its Hyper-V host uses only the guest credentials the tenant lists', () => {
  const throughHost = (vmName: string, secretName: string) => ({
    containerHost: { vmName, through: 'hyperVHost' as const, credential: { secretName } },
  });

  it('accepts the tenant’s own secret for a VM it lists', async () => {
    const w = world();
    const { context, outputs } = recordingContext('submitAttachment');
    const response = await w.submit(
      post('contoso', seedRequest(throughHost('ContainerHostVM1', 'contoso-guest')), asContoso),
      context,
    );
    expect(response.status).toBe(202);
    expect(outputs).toHaveLength(1);
  });

  it.each<[string, string, string, string]>([
    ['another tenant’s secret', 'ContainerHostVM1', 'fabrikam-guest', 'containerHost.credential.secretName'],
    ['a secret no tenant lists', 'ContainerHostVM1', 'contoso-admin', 'containerHost.credential.secretName'],
    ['its own secret in another tenant’s VM', 'FabrikamVM1', 'contoso-guest', 'containerHost.vmName'],
    ['its own secret in a VM not listed for it', 'ContainerHostVM3', 'CONTOSO-GUEST', 'containerHost.vmName'],
  ])('refuses %s with 403 naming the field; stores and enqueues nothing', async (_, vmName, secretName, field) => {
    const w = world();
    const { context, outputs } = recordingContext('submitAttachment');
    const response = await w.submit(post('contoso', seedRequest(throughHost(vmName, secretName)), asContoso), context);
    expect(response.status).toBe(403);
    const error = errorOf(response.jsonBody);
    expect(error.code).toBe('TenantNotAuthorized');
    expect(error.details?.map((d) => d.target)).toEqual([field]);
    expect(w.store.writes).toBe(0);
    expect(outputs).toEqual([]);
  });

  it('still checks the Hyper-V host against the tenant’s machines', async () => {
    const w = world();
    const { context, outputs } = recordingContext('submitAttachment');
    const request = seedRequest({
      ...throughHost('ContainerHostVM1', 'contoso-guest'),
      hyperVHost: { machineName: 'HV02' },
    });
    const response = await w.submit(post('contoso', request, asContoso), context);
    expect(response.status).toBe(403);
    expect(errorOf(response.jsonBody).details?.map((d) => d.target)).toEqual(['hyperVHost.machineName']);
    expect(w.store.writes).toBe(0);
    expect(outputs).toEqual([]);
  });

  it('the entry queue poisons another tenant’s secret, and stores nothing', async () => {
    const w = world();
    const { context, logs, outputs } = recordingContext('acceptAttachRequest', { dequeueCount: 1 });
    const message = {
      schemaVersion: 1,
      tenantId: 'contoso',
      ...seedRequest(throughHost('ContainerHostVM1', 'fabrikam-guest')),
    };
    await w.accept(message, context);
    expect(w.poisoned).toEqual([message]);
    expect(logs.find((l) => l.startsWith('error:'))).toContain(
      'TenantNotAuthorized: containerHost.credential.secretName',
    );
    expect(w.store.writes).toBe(0);
    expect(outputs).toEqual([]);
  });

  it('refuses the path with 400 naming containerHost.through while no Key Vault is configured', async () => {
    const w = world();
    const outcome = await submitAttachment(
      {
        store: w.store,
        tenants: w.tenants,
        knownControllers: new Set(['default']),
        arcDefaults: LAB_DEFAULTS,
        newAttachmentId: () => 'generated',
        nowInMs: () => NOW,
      },
      'contoso',
      seedRequest(throughHost('ContainerHostVM1', 'contoso-guest')),
    );
    expect(outcome).toMatchObject({ kind: 'invalid', issues: [{ field: 'containerHost.through' }] });
    expect(w.store.writes).toBe(0);
  });

  it('the registry refuses a malformed grant, naming the field', async () => {
    const w = world();
    const response = await w.put(
      adminRequest('PUT', 'northwind', asOperator, {
        ...exampleTenant('contoso'),
        guestCredentials: [{ secretName: 'bad/name', vmNames: [] }],
      }),
    );
    expect(response.status).toBe(400);
    expect(
      errorOf(response.jsonBody)
        .details?.map((d) => d.target)
        .sort(),
    ).toEqual(['guestCredentials[0].secretName', 'guestCredentials[0].vmNames']);
  });
});

describe('callers: a principal uses only the tenants that list it', () => {
  it.each<[string, Record<string, string>, string, number]>([
    ['the operator, any tenant', asOperator, 'fabrikam', 202],
    ['a contoso user, contoso', asContoso, 'contoso', 202],
    ['a contoso user, fabrikam', asContoso, 'fabrikam', 404],
    ['a fabrikam group member, fabrikam', asFabrikam, 'fabrikam', 202],
    ['a fabrikam group member, contoso', asFabrikam, 'contoso', 404],
    ['no principal at all', {}, 'contoso', 401],
    ['a principal without the tenant role', principal(CONTOSO_USER, []), 'contoso', 404],
  ])('%s', async (_, headers, tenantId, status) => {
    const w = world();
    const own =
      tenantId === 'fabrikam' ? { virtualNetworkId: 'VNet2', containerHost: { machineName: 'FabrikamVM1' } } : {};
    const response = await w.submit(post(tenantId, seedRequest(own), headers), recordingContext('s').context);
    expect(response.status).toBe(status);
    if (status !== 202) expect(w.store.writes).toBe(0);
  });

  it('another tenant’s attachment answers 404 to a principal, as an unknown one does', async () => {
    const w = world();
    await w.submit(post('contoso', seedRequest(), asContoso), recordingContext('s').context);
    const mine = await w.get(attachmentRequestWith('contoso', 'seed-1', asContoso), recordingContext('g').context);
    expect(mine.status).toBe(202);
    const theirs = await w.get(attachmentRequestWith('contoso', 'seed-1', asFabrikam), recordingContext('g').context);
    expect(theirs.status).toBe(404);
    expect(JSON.stringify(theirs.jsonBody)).not.toContain('seed-1');
  });
});

function attachmentRequestWith(
  tenantId: string,
  id: string,
  headers: Record<string, string>,
  method: 'GET' | 'POST' | 'DELETE' = 'GET',
  suffix = '',
) {
  return attachmentRequest(method, tenantId, id, suffix, '', headers);
}

describe('DELETE (detach): the same boundary as every other tenant route', () => {
  type Method = 'GET' | 'POST' | 'DELETE';
  const routes = (w: ReturnType<typeof world>) =>
    [
      ['GET', '', w.get],
      ['POST', '/cancel', w.cancel],
      ['POST', '/retry', w.retry],
      ['DELETE', '', w.detach],
    ] as const satisfies readonly (readonly [Method, string, unknown])[];

  async function attached(w: ReturnType<typeof world>, tenantId = 'contoso', request = seedRequest()) {
    const response = await w.submit(post(tenantId, request, asOperator), recordingContext('s').context);
    expect(response.status).toBe(202);
    await w.store.updateAttachment(tenantId, request.attachmentId ?? '', (record) => ({
      record: { ...record, runtimeStatus: 'Completed', currentStep: undefined },
    }));
  }

  it.each<[string, Record<string, string>, string, number]>([
    ['a contoso user, on fabrikam', asContoso, 'fabrikam', 404],
    ['a fabrikam group member, on contoso', asFabrikam, 'contoso', 404],
    ['a principal without the tenant role', principal(CONTOSO_USER, []), 'contoso', 404],
    ['no principal at all', {}, 'contoso', 401],
  ])(
    '%s: DELETE answers exactly as GET, cancel and retry do (%s), writing and sending nothing',
    async (_, headers, tenantId, status) => {
      const w = world();
      await attached(w, 'contoso');
      await attached(
        w,
        'fabrikam',
        seedRequest({ virtualNetworkId: 'VNet2', containerHost: { machineName: 'FabrikamVM1' } }),
      );
      const writes = w.store.writes;
      const answers: string[] = [];
      for (const [method, suffix, handler] of routes(w)) {
        const { context, outputs } = recordingContext('route');
        const response = await handler(attachmentRequestWith(tenantId, 'seed-1', headers, method, suffix), context);
        expect(response.status, `${method} ${suffix}`).toBe(status);
        expect(outputs).toEqual([]);
        answers.push(JSON.stringify(response.jsonBody));
      }
      expect(new Set(answers).size).toBe(1);
      expect(answers[0]).not.toMatch(/seed-1|runtimeStatus/);
      expect(w.store.writes).toBe(writes);
    },
  );

  it('the tenant’s own principal, and the operator, detach its attachment', async () => {
    for (const headers of [asContoso, asOperator]) {
      const w = world();
      await attached(w);
      const { context, outputs } = recordingContext('detachAttachment');
      const response = await w.detach(attachmentRequestWith('contoso', 'seed-1', headers, 'DELETE'), context);
      expect(response.status).toBe(202);
      expect(outputs).toHaveLength(1);
    }
  });

  it('a tenant removed from the registry: the operator gets 403 TenantNotAuthorized naming tenantId; its principals 404', async () => {
    const w = world();
    await attached(w);
    expect((await w.remove(adminRequest('DELETE', 'contoso', asOperator))).status).toBe(204);
    const writes = w.store.writes;
    const before = await w.store.getAttachment('contoso', 'seed-1');

    const { context, outputs } = recordingContext('detachAttachment');
    const refused = await w.detach(attachmentRequestWith('contoso', 'seed-1', asOperator, 'DELETE'), context);
    expect(refused.status).toBe(403);
    expect(refused.jsonBody).toEqual({
      error: {
        code: 'TenantNotAuthorized',
        message: 'The tenant may not make this request: tenantId: tenant "contoso" is not registered',
        details: [{ code: 'TenantNotAuthorized', target: 'tenantId', message: 'tenant "contoso" is not registered' }],
      },
    });
    expect(outputs).toEqual([]);
    const own = await w.detach(
      attachmentRequestWith('contoso', 'seed-1', asContoso, 'DELETE'),
      recordingContext('d').context,
    );
    expect(own.status).toBe(404);
    expect(w.store.writes).toBe(writes);
    expect(await w.store.getAttachment('contoso', 'seed-1')).toEqual(before);
  });

  it('an entry that no longer covers the attachment: 403 naming each field, for its own principal too', async () => {
    const w = world();
    await attached(w);
    w.tenants.set('contoso', {
      ...(await w.tenants.getTenant('contoso'))!.entry,
      networkControllers: { default: { virtualNetworks: ['VNet3'] } },
      machines: [{ machineName: 'HV01' }],
    });
    const writes = w.store.writes;
    for (const headers of [asContoso, asOperator]) {
      const { context, outputs } = recordingContext('detachAttachment');
      const response = await w.detach(attachmentRequestWith('contoso', 'seed-1', headers, 'DELETE'), context);
      expect(response.status).toBe(403);
      const error = errorOf(response.jsonBody);
      expect(error.code).toBe('TenantNotAuthorized');
      expect(error.details?.map((d) => [d.code, d.target])).toEqual([
        ['TenantNotAuthorized', 'virtualNetworkId'],
        ['TenantNotAuthorized', 'containerHost.machineName'],
      ]);
      expect(outputs).toEqual([]);
    }
    expect(w.store.writes).toBe(writes);
  });

  it.each(['..', "' or PartitionKey ne '", 'a/b', ''])(
    'a hostile tenant id %j is the handler’s 400 naming tenantId, for any caller, nothing read or written',
    async (tenantId) => {
      const w = world();
      const reads = w.tenants.reads;
      for (const headers of [asContoso, asOperator]) {
        const { context, outputs } = recordingContext('detachAttachment');
        const response = await w.detach(attachmentRequestWith(tenantId, 'seed-1', headers, 'DELETE'), context);
        expect(response.status).toBe(400);
        expect(errorOf(response.jsonBody).details?.map((d) => d.target)).toEqual(['tenantId']);
        expect(outputs).toEqual([]);
      }
      expect(w.tenants.reads).toBe(reads);
      expect(w.store.writes).toBe(0);
    },
  );
});

describe('admin API: the operator’s registry', () => {
  const entry = { ...exampleTenant('contoso'), principals: [CONTOSO_USER] };

  it('creates (201), reads with its ETag, replaces (200) under If-Match, and records who changed what', async () => {
    const w = world();
    const created = await w.put(adminRequest('PUT', 'northwind', asOperator, entry));
    expect(created.status).toBe(201);
    const etag = (created.headers as Record<string, string>).ETag;
    expect(etag).toBeDefined();
    const stale = await w.put(adminRequest('PUT', 'northwind', { ...asOperator, 'if-match': 'W/"0"' }, entry));
    expect(stale.status).toBe(412);
    const replaced = await w.put(adminRequest('PUT', 'northwind', { ...asOperator, 'if-match': etag! }, entry));
    expect(replaced.status).toBe(200);
    expect((await w.put(adminRequest('PUT', 'northwind', { ...asOperator, 'if-none-match': '*' }, entry))).status).toBe(
      412,
    );
    const read = await w.getTenant(
      new HttpRequest({
        method: 'GET',
        url: 'http://127.0.0.1:7071/api/admin/tenants/northwind?showHistory=true',
        params: { area: 'admin', tenantId: 'northwind' },
        headers: asOperator,
      }),
    );
    expect(read.status).toBe(200);
    expect(read.jsonBody).toMatchObject({
      tenantId: 'northwind',
      networkControllers: { default: { virtualNetworks: ['VNet1'] } },
      lastUpdatedBy: OPERATOR,
      changes: [
        { action: 'Created', by: OPERATOR },
        { action: 'Replaced', by: OPERATOR },
      ],
    });
  });

  it('answers 400 naming every bad field, and stores nothing', async () => {
    const w = world();
    const response = await w.put(
      adminRequest('PUT', 'northwind', asOperator, {
        networkControllers: { 'Not A Name': { virtualNetworks: [] } },
        machines: [{ machineName: '-bad' }],
        principals: ['not-a-guid'],
        extra: 1,
      }),
    );
    expect(response.status).toBe(400);
    const targets = errorOf(response.jsonBody).details?.map((d) => d.target) ?? [];
    expect(targets).toEqual(expect.arrayContaining(['machines[0].machineName', 'principals[0]', '(body)']));
    expect(targets.some((t) => t.startsWith('networkControllers'))).toBe(true);
    expect(await w.tenants.getTenant('northwind')).toBeUndefined();
  });

  it('is the operator’s alone: a tenant principal gets 403, no principal 401', async () => {
    const w = world();
    expect((await w.put(adminRequest('PUT', 'northwind', asContoso, entry))).status).toBe(403);
    expect((await w.list(adminRequest('GET', undefined, asFabrikam))).status).toBe(403);
    expect((await w.remove(adminRequest('DELETE', 'contoso', {}))).status).toBe(401);
    // The machine routes of the admin API refuse a tenant caller the same way, before reading anything.
    const plugin = (headers: Record<string, string>) =>
      w.removePlugin(
        new HttpRequest({
          method: 'POST',
          url: 'http://127.0.0.1:7071/api/admin/machines/ContainerHostVM1/private-cloud-plugin/remove',
          params: { area: 'admin', machineName: 'ContainerHostVM1' },
          headers,
        }),
        recordingContext('removePrivateCloudPlugin').context,
      );
    const byTenant = await plugin(asContoso);
    expect(byTenant.status).toBe(403);
    expect(errorOf(byTenant.jsonBody).code).toBe('OperatorOnly');
    expect(errorOf((await w.put(adminRequest('PUT', 'northwind', asFabrikam, entry))).jsonBody).code).toBe(
      'OperatorOnly',
    );
    expect((await plugin({})).status).toBe(401);
    expect(w.pluginRuns).toEqual([]);
    expect(await w.tenants.getTenant('northwind')).toBeUndefined();
    expect(await w.tenants.getTenant('contoso')).toBeDefined();
  });

  it('refuses to delete a tenant with attachments Pending or Running (409), and deletes it once they end', async () => {
    const w = world();
    await w.submit(post('contoso', seedRequest(), asOperator), recordingContext('s').context);
    const refused = await w.remove(adminRequest('DELETE', 'contoso', asOperator));
    expect(refused.status).toBe(409);
    expect(errorOf(refused.jsonBody).code).toBe('TenantHasAttachmentsInFlight');
    await w.store.updateAttachment('contoso', 'seed-1', (record) => ({
      record: { ...record, runtimeStatus: 'Completed' },
    }));
    expect((await w.remove(adminRequest('DELETE', 'contoso', asOperator))).status).toBe(204);
    expect((await w.remove(adminRequest('DELETE', 'contoso', asOperator))).status).toBe(404);
    const listed = await w.list(adminRequest('GET', undefined, asOperator));
    expect((listed.jsonBody as { value: { tenantId: string }[] }).value.map((t) => t.tenantId)).toEqual(['fabrikam']);
  });
});
