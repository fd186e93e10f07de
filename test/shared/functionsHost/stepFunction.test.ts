import { describe, expect, it } from 'vitest';

import type { AppDeps } from '../../../shared/functionsHost/deps';
import { deliveryScoped } from '../../../shared/functionsHost/stepFunction';
import { TenantEntrySchema } from '../../../shared/model/tenant';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { exampleTenant } from '../../support/tenants';

describe('deliveryScoped: the registry as one delivery sees it', () => {
  function app() {
    const registry = InMemoryTenantStore.with({ contoso: exampleTenant('contoso') });
    return { registry, app: { tenants: registry } as unknown as AppDeps };
  }

  it('reads each tenant once per delivery, and hands out copies', async () => {
    const { registry, app: deps } = app();
    const scoped = deliveryScoped(deps);
    const first = await scoped.tenants.getTenant('contoso');
    const second = await scoped.tenants.getTenant('contoso');
    expect(registry.reads).toBe(1);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(await scoped.tenants.getTenant('fabrikam')).toBeUndefined();
    expect(registry.reads).toBe(2);
  });

  it('reads afresh in the next delivery: a change made in between is seen', async () => {
    const { registry, app: deps } = app();
    expect((await deliveryScoped(deps).tenants.getTenant('contoso'))?.entry.machines).toHaveLength(3);
    registry.set(
      'contoso',
      TenantEntrySchema.parse({ ...exampleTenant('contoso'), machines: [{ machineName: 'HV01' }] }),
    );
    expect((await deliveryScoped(deps).tenants.getTenant('contoso'))?.entry.machines).toHaveLength(1);
  });

  it('does not keep a failed read', async () => {
    const { registry } = app();
    let fail = true;
    const flaky = Object.assign(Object.create(registry) as InMemoryTenantStore, {
      getTenant: (tenantId: string) => {
        if (fail) {
          fail = false;
          return Promise.reject(new Error('storage down'));
        }
        return registry.getTenant(tenantId);
      },
    });
    const scoped = deliveryScoped({ tenants: flaky } as unknown as AppDeps);
    await expect(scoped.tenants.getTenant('contoso')).rejects.toThrow('storage down');
    expect((await scoped.tenants.getTenant('contoso'))?.tenantId).toBe('contoso');
  });
});
