import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import { installPrivateCloudPluginScript, removePrivateCloudPluginScript } from '../../../shared/arc/scripts';
import { RemoteServiceError, StepError } from '../../../shared/errors';
import { accessPolicy } from '../../../shared/functionsHost/access';
import { makeRemovePrivateCloudPluginHandler } from '../../../shared/functionsHost/pluginHandlers';
import { stableUuid } from '../../../shared/ids';
import type { MachineRef } from '../../../shared/model/machineRef';
import type { MachineTaskRecord, TaskWaiter } from '../../../shared/model/MachineTaskStore';
import { newAttachmentRecord, withAllSteps } from '../../../shared/model/records';
import { type MachineTaskCheckpoint, reusedMachineTask } from '../../../shared/workflow/machineTask';
import { RUN_TIMED_OUT } from '../../../shared/workflow/pluginRemoval';
import type { StepRunContext } from '../../../shared/workflow/stepTypes';
import { NOW, recordingContext } from '../../support/functionsHost';
import { InMemoryMachineTaskStore } from '../../support/InMemoryMachineTaskStore';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { acceptedSeedRequest } from '../../support/seed';
import { LAB_DEFAULTS } from '../../support/tenants';

const OPERATOR = 'aaaaaaaa-0000-4000-8000-000000000001';
const CONTOSO_USER = 'bbbbbbbb-0000-4000-8000-000000000002';
const IDENTITY = { platformAuthEnabled: true, operatorRole: 'SdnAttach.Operator', tenantRole: 'SdnAttach.Tenant' };

function principal(id: string, roles: string[]): Record<string, string> {
  const claims = [
    { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: id },
    ...roles.map((val) => ({ typ: 'roles', val })),
  ];
  const body = { auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims };
  return { 'x-ms-client-principal': Buffer.from(JSON.stringify(body)).toString('base64') };
}
const asOperator = principal(OPERATOR, ['SdnAttach.Operator']);
const asContoso = principal(CONTOSO_USER, ['SdnAttach.Tenant']);

const VM: MachineRef = { ...LAB_DEFAULTS, machineName: 'ContainerHostVM1' };
const REMOVED = {
  script: 'remove-private-cloud-plugin',
  version: 1,
  ok: true,
  changed: true,
  removedKeys: ['SYSTEM\\...\\Plugins\\D5AAF7C4', 'Software\\Classes\\CLSID\\{D5AAF7C4}'],
  agentSettingsRemoved: false,
  serviceAction: 'restarted',
  serviceStatus: 'Running',
};

/** The applied install of step 3 on the VM, as an attachment's step left it. */
function installed(): MachineTaskRecord {
  return {
    machine: VM,
    task: 'installPrivateCloudPlugin',
    subject: '',
    status: 'Applied',
    script: installPrivateCloudPluginScript.name,
    scriptVersion: installPrivateCloudPluginScript.version,
    inputHash: stableUuid(JSON.stringify({})),
    appliedTime: new Date(NOW - 60_000).toISOString(),
    appliedBy: { tenantId: 'contoso', attachmentId: 'seed-1' },
    exitCode: 0,
    result: { changed: true },
    updatedTime: new Date(NOW - 60_000).toISOString(),
  };
}

function world(
  run: () => Promise<Record<string, unknown>> = () => Promise.resolve({ ...REMOVED }),
  options: { watchFails?: boolean } = {},
) {
  const store = new InMemoryStateStore();
  const tasks = new InMemoryMachineTaskStore();
  const runs: { machine: MachineRef; script: string }[] = [];
  const woken: TaskWaiter[] = [];
  const watches: unknown[] = [];
  const unwatched: unknown[] = [];
  let now = NOW;
  const handler = makeRemovePrivateCloudPluginHandler(() => ({
    access: accessPolicy({ identity: IDENTITY }),
    defaults: LAB_DEFAULTS,
    removal: {
      tasks,
      wake: (waiter) => {
        woken.push(waiter);
        return Promise.resolve();
      },
      watch: (message) => {
        if (options.watchFails) return Promise.reject(new Error('queue unavailable'));
        watches.push(message);
        return Promise.resolve({ messageId: `w${watches.length}`, popReceipt: 'p' });
      },
      unwatch: (receipt) => {
        unwatched.push(receipt);
        return Promise.resolve(true);
      },
      containerHostUsers: (machineName) => store.listContainerHostUsers(machineName),
      runScript: (machine, script) => {
        runs.push({ machine, script: script.name });
        return run();
      },
      stableUuid,
      defaults: LAB_DEFAULTS,
      nowInMs: () => now,
    },
  }));
  const call = async (
    machineName: string,
    options: { headers?: Record<string, string>; query?: string; body?: string; contentType?: string } = {},
  ) => {
    const request = new HttpRequest({
      method: 'POST',
      url: `http://127.0.0.1:7071/api/admin/machines/${encodeURIComponent(machineName)}/private-cloud-plugin/remove${options.query ?? ''}`,
      params: { area: 'admin', machineName },
      headers: {
        ...(options.headers ?? asOperator),
        ...(options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: { string: options.body } }),
    });
    return handler(request, recordingContext('removePrivateCloudPlugin').context);
  };
  const attach = async (tenantId: string, attachmentId: string, containerHost: Record<string, string>) => {
    const record = newAttachmentRecord(
      tenantId,
      acceptedSeedRequest({ attachmentId, containerHost: containerHost as { machineName: string } }),
      new Date(NOW).toISOString(),
    );
    await store.createAttachment({ ...record, runtimeStatus: 'Completed' }, []);
  };
  return {
    store,
    tasks,
    runs,
    woken,
    watches,
    unwatched,
    call,
    attach,
    advance: (ms: number) => (now += ms),
  };
}

const errorOf = (body: unknown) =>
  (body as { error: { code: string; message: string; details?: { target: string }[] } }).error;

/** Whether step 3 of a new attachment would reuse the VM's task record instead of installing again. */
async function step3Reuses(tasks: InMemoryMachineTaskStore): Promise<boolean> {
  const run = {
    tenantId: 'contoso',
    attachmentId: 'next',
    request: {},
    attempt: 1,
    steps: withAllSteps({}),
    result: {},
    saveCheckpoint: () => Promise.resolve(),
    inlineWaitInMs: 0,
    options: {},
    nowInMs: () => NOW + 120_000,
    sleep: () => Promise.resolve(),
    log: () => undefined,
  } as unknown as StepRunContext<MachineTaskCheckpoint>;
  const deps = {
    tasks,
    runCommands: {} as never,
    stableUuid,
    reuseForInMs: 60 * 60_000,
    pollIntervalInMs: 10,
    wake: () => Promise.resolve(),
    watch: () => Promise.resolve({ messageId: 'm', popReceipt: 'p' }),
    unwatch: () => Promise.resolve(true),
  };
  const spec = {
    step: 'installPrivateCloudPlugin' as const,
    machine: VM,
    subject: '',
    script: installPrivateCloudPluginScript,
    input: {},
  };
  return (await reusedMachineTask(deps, run, spec)) !== undefined;
}

describe('POST /api/admin/machines/{machineName}/private-cloud-plugin/remove', () => {
  it('removes the registration, answers the script’s result, and records it so step 3 installs again', async () => {
    const w = world();
    await w.tasks.putTask(installed(), undefined);
    expect(await step3Reuses(w.tasks)).toBe(true);
    await w.tasks.addWaiter(VM, 'installPrivateCloudPlugin', '', {
      tenantId: 'contoso',
      attachmentId: 'parked',
      step: 'installPrivateCloudPlugin',
      recheck: 1,
    });
    const response = await w.call('ContainerHostVM1');
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      machine: VM,
      changed: true,
      removedKeys: REMOVED.removedKeys,
      serviceAction: 'restarted',
      task: { name: 'installPrivateCloudPlugin', status: 'Applied', script: 'remove-private-cloud-plugin' },
    });
    expect(w.runs).toEqual([{ machine: VM, script: removePrivateCloudPluginScript.name }]);
    const task = await w.tasks.getTask(VM, 'installPrivateCloudPlugin', '');
    expect(task).toMatchObject({
      status: 'Applied',
      script: 'remove-private-cloud-plugin',
      scriptVersion: removePrivateCloudPluginScript.version,
      appliedBy: { tenantId: 'operator' },
      result: { changed: true, requestedBy: OPERATOR },
    });
    expect(task?.owner).toBeUndefined();
    expect(task?.leaseExpiresAtInMs).toBeUndefined();
    expect(await step3Reuses(w.tasks)).toBe(false);
    // A step 3 that parked on the removal is woken, and the removal's watch is deleted.
    expect(w.woken.map((waiter) => waiter.attachmentId)).toEqual(['parked']);
    expect(w.watches).toHaveLength(1);
    expect(w.unwatched).toHaveLength(1);
  });

  it('takes the subscription and resource group from the query or the body, else the defaults', async () => {
    const w = world();
    const other = { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'other-rg' };
    expect((await w.call('VM9', { query: `?subscriptionId=${other.subscriptionId}&code=k` })).status).toBe(200);
    expect((await w.call('VM9', { body: JSON.stringify({ resourceGroup: 'other-rg' }) })).status).toBe(200);
    expect(w.runs.map((r) => r.machine)).toEqual([
      { subscriptionId: other.subscriptionId, resourceGroup: LAB_DEFAULTS.resourceGroup, machineName: 'VM9' },
      { subscriptionId: LAB_DEFAULTS.subscriptionId, resourceGroup: 'other-rg', machineName: 'VM9' },
    ]);
  });

  it('refuses 409 MachineInUse while attachments not Detached use the VM, naming a few of them, any tenant', async () => {
    const w = world();
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'])
      await w.attach('contoso', id, { machineName: 'ContainerHostVM1' });
    await w.attach('fabrikam', 'f1', { machineName: 'containerhostvm1' });
    // Not users: a Detached one, another VM, and a VM of that name in another resource group.
    await w.attach('contoso', 'gone', { machineName: 'ContainerHostVM1' });
    await w.store.updateAttachment('contoso', 'gone', (r) => ({ record: { ...r, runtimeStatus: 'Detached' } }));
    await w.attach('contoso', 'vm2', { machineName: 'ContainerHostVM2' });
    await w.attach('contoso', 'elsewhere', { machineName: 'ContainerHostVM1', resourceGroup: 'other-rg' });
    await w.tasks.putTask(installed(), undefined);

    const response = await w.call('ContainerHostVM1');
    expect(response.status).toBe(409);
    const error = errorOf(response.jsonBody);
    expect(error.code).toBe('MachineInUse');
    expect(error.message).toContain('7 attachment(s)');
    expect(error.message).toContain('contoso/a1, contoso/a2, contoso/a3, contoso/a4, contoso/a5, and 2 more');
    expect(error.message).not.toMatch(/gone|vm2|elsewhere/);
    expect(w.runs).toEqual([]);
    expect(await w.tasks.getTask(VM, 'installPrivateCloudPlugin', '')).toMatchObject({ status: 'Applied' });
    expect(await step3Reuses(w.tasks)).toBe(true);
  });

  it('refuses 409 MachineTaskRunning while step 3 holds the VM’s task with a live lease, not once it expired', async () => {
    const w = world();
    await w.tasks.putTask(
      {
        ...installed(),
        status: 'Running',
        owner: { tenantId: 'contoso', attachmentId: 'installing' },
        leaseExpiresAtInMs: NOW + 60_000,
      },
      undefined,
    );
    const refused = await w.call('ContainerHostVM1');
    expect(refused.status).toBe(409);
    expect(errorOf(refused.jsonBody)).toMatchObject({ code: 'MachineTaskRunning' });
    expect(errorOf(refused.jsonBody).message).toContain('contoso/installing');
    expect(w.runs).toEqual([]);
    w.advance(61_000);
    expect((await w.call('ContainerHostVM1')).status).toBe(200);
  });

  it('answers the script’s refusal (409 ContainerNetworksStillPresent) and leaves the install record as it was', async () => {
    const w = world(() =>
      Promise.reject(
        new StepError('1 l2bridge or l2tunnel Docker network(s) still use the plugin: net1.', {
          source: 'RunCommand',
          code: 'ContainerNetworksStillPresent',
          retryable: true,
        }),
      ),
    );
    await w.tasks.putTask(installed(), undefined);
    const response = await w.call('ContainerHostVM1');
    expect(response.status).toBe(409);
    expect(errorOf(response.jsonBody)).toMatchObject({ code: 'ContainerNetworksStillPresent' });
    const { etag: _etag, updatedTime: _time, ...after } = (await w.tasks.getTask(VM, 'installPrivateCloudPlugin', ''))!;
    const { updatedTime: _before, ...before } = installed();
    expect(after).toEqual(before);
    expect(await step3Reuses(w.tasks)).toBe(true);
  });

  it('answers 502 with the remote code when the run fails, and marks the task Failed (not reusable)', async () => {
    const w = world(() =>
      Promise.reject(
        new RemoteServiceError('Run command for remove-private-cloud-plugin v2 timed out', {
          source: 'RunCommand',
          code: 'RunCommandTimedOut',
          retryable: true,
        }),
      ),
    );
    await w.tasks.putTask(installed(), undefined);
    const response = await w.call('ContainerHostVM1');
    expect(response.status).toBe(502);
    expect(errorOf(response.jsonBody).code).toBe('RunCommandTimedOut');
    expect(await w.tasks.getTask(VM, 'installPrivateCloudPlugin', '')).toMatchObject({
      status: 'Failed',
      script: 'remove-private-cloud-plugin',
      lastError: { code: 'RunCommandTimedOut' },
    });
    expect(await step3Reuses(w.tasks)).toBe(false);
  });

  it('answers 404 when ARM does not know the machine, changing nothing recorded', async () => {
    const w = world(() =>
      Promise.reject(
        new RemoteServiceError('The Resource was not found.', {
          source: 'AzureResourceManager',
          code: 'ResourceNotFound',
          statusCode: 404,
          retryable: false,
        }),
      ),
    );
    await w.tasks.putTask(installed(), undefined);
    const response = await w.call('ContainerHostVM1');
    expect(response.status).toBe(404);
    expect(errorOf(response.jsonBody).code).toBe('ResourceNotFound');
    expect(await step3Reuses(w.tasks)).toBe(true);
  });

  it('answers 504 when the run outlasts the request, and keeps the task held until its lease ends', async () => {
    const w = world(() =>
      Promise.reject(new StepError('did not finish', { source: 'RunCommand', code: RUN_TIMED_OUT, retryable: true })),
    );
    const response = await w.call('ContainerHostVM1');
    expect(response.status).toBe(504);
    expect(errorOf(response.jsonBody).code).toBe(RUN_TIMED_OUT);
    const task = await w.tasks.getTask(VM, 'installPrivateCloudPlugin', '');
    expect(task).toMatchObject({ status: 'Running', script: 'remove-private-cloud-plugin' });
    expect(task!.leaseExpiresAtInMs).toBeGreaterThan(
      NOW + removePrivateCloudPluginScript.defaultTimeoutInSeconds * 1000,
    );
    // The watch stays, to wake a parked step 3 after the lease; a second call is refused meanwhile.
    expect(w.unwatched).toEqual([]);
    expect((await w.call('ContainerHostVM1')).status).toBe(409);
  });

  it('gives the task back and runs nothing when the watch cannot be sent', async () => {
    const w = world(undefined, { watchFails: true });
    await w.tasks.putTask(installed(), undefined);
    await expect(w.call('ContainerHostVM1')).rejects.toThrow('queue unavailable');
    expect(w.runs).toEqual([]);
    expect(await w.tasks.getTask(VM, 'installPrivateCloudPlugin', '')).toMatchObject({
      status: 'Applied',
      script: installPrivateCloudPluginScript.name,
    });
    expect(await step3Reuses(w.tasks)).toBe(true);
  });

  it('is the operator’s alone: a tenant principal gets 403 OperatorOnly, no principal 401; nothing runs', async () => {
    const w = world();
    await w.tasks.putTask(installed(), undefined);
    const tenant = await w.call('ContainerHostVM1', { headers: asContoso });
    expect(tenant.status).toBe(403);
    expect(errorOf(tenant.jsonBody).code).toBe('OperatorOnly');
    expect((await w.call('ContainerHostVM1', { headers: {} })).status).toBe(401);
    // Refused before the input is read: a hostile name gets the same answer.
    expect((await w.call('../x', { headers: asContoso })).status).toBe(403);
    expect(w.runs).toEqual([]);
    expect(w.watches).toEqual([]);
    expect(await step3Reuses(w.tasks)).toBe(true);
  });

  it.each<[string, string, { query?: string; body?: string; contentType?: string }, string[]]>([
    ['a traversal in the name', '../ContainerHostVM1', {}, ['machineName']],
    ['an OData quote in the name', "x' or machineName ne '", {}, ['machineName']],
    ['a name too long', 'a'.repeat(65), {}, ['machineName']],
    ['a name with a space', 'Container Host', {}, ['machineName']],
    ['a subscription that is not a GUID', 'ContainerHostVM1', { query: '?subscriptionId=abc' }, ['subscriptionId']],
    ['a resource group ending in a dot', 'ContainerHostVM1', { query: '?resourceGroup=rg.' }, ['resourceGroup']],
    ['a bad resource group in the body', 'ContainerHostVM1', { body: '{"resourceGroup":"a/b"}' }, ['resourceGroup']],
    ['an unknown body field', 'ContainerHostVM1', { body: '{"machineName":"Other"}' }, ['(body)']],
    ['a body that is not an object', 'ContainerHostVM1', { body: '["x"]' }, ['(body)']],
    ['a body that is not JSON', 'ContainerHostVM1', { body: '{' }, ['(body)']],
    ['a body that is not JSON at all', 'ContainerHostVM1', { body: 'x', contentType: 'text/plain' }, ['(body)']],
    [
      'the query and the body disagreeing',
      'ContainerHostVM1',
      { query: '?resourceGroup=rg1', body: '{"resourceGroup":"rg2"}' },
      ['resourceGroup'],
    ],
  ])('answers 400 naming the field for %s, and runs nothing', async (_, name, options, fields) => {
    const w = world();
    const response = await w.call(name, options);
    expect(response.status).toBe(400);
    expect(errorOf(response.jsonBody).details?.map((d) => d.target)).toEqual(fields);
    expect(w.runs).toEqual([]);
    expect(w.tasks.writes).toBe(0);
  });
});
