import { TenantIdSchema } from '../../shared/model/attachRequest';
import { type TenantEntry, TenantEntrySchema } from '../../shared/model/tenant';
import { TableTenantStore } from '../../shared/state/TableTenantStore';
import { labTenant } from './tenants';

/**
 * The tenant registry of an end-to-end stack, for tests that are not about the tenant boundary: before a request
 * goes out, its tenant is registered (or its entry widened) with what the request names, written straight into the
 * registry's table as the operator's admin API would. Boundary tests turn it off and register through the API.
 */
export function labRegistry(connectionString: string, tableName = 'tenants') {
  const store = TableTenantStore.fromConnectionString(connectionString, tableName);
  const known = new Map<string, string>();
  const serialize = new Map<string, Promise<void>>();

  async function widen(tenantId: string, request: Record<string, unknown>): Promise<void> {
    const wanted = TenantEntrySchema.safeParse(labTenant(request));
    if (!wanted.success) return;
    const current = await store.getTenant(tenantId);
    const merged = union(current?.entry, wanted.data);
    const text = JSON.stringify(merged);
    if (known.get(tenantId) === text && current) return;
    await store.putTenant(tenantId, merged, 'test-lab');
    known.set(tenantId, text);
  }

  return {
    store,
    /** Registers the tenant for what `request` names; a body that is not an object registers nothing. */
    async ensure(tenantId: unknown, request: unknown): Promise<void> {
      // A malformed tenant id is the product's to refuse (400 or poison); there is nothing to register.
      if (!TenantIdSchema.safeParse(tenantId).success || typeof request !== 'object' || request === null) return;
      if (typeof tenantId !== 'string') return;
      const previous = serialize.get(tenantId) ?? Promise.resolve();
      const next = previous.then(() => widen(tenantId, request as Record<string, unknown>));
      serialize.set(
        tenantId,
        next.catch(() => undefined),
      );
      await next;
    },
  };
}

function union(a: TenantEntry | undefined, b: TenantEntry): TenantEntry {
  if (!a) return b;
  const networkControllers: TenantEntry['networkControllers'] = structuredClone(a.networkControllers);
  for (const [name, { virtualNetworks }] of Object.entries(b.networkControllers)) {
    const existing = networkControllers[name]?.virtualNetworks ?? [];
    networkControllers[name] = { virtualNetworks: [...new Set([...existing, ...virtualNetworks])] };
  }
  const machines = new Map([...a.machines, ...b.machines].map((m) => [JSON.stringify(m).toLowerCase(), m]));
  const grants = new Map<string, Set<string>>();
  for (const { secretName, vmNames } of [...(a.guestCredentials ?? []), ...(b.guestCredentials ?? [])]) {
    const names = grants.get(secretName) ?? new Set<string>();
    for (const name of vmNames) names.add(name);
    grants.set(secretName, names);
  }
  const guestCredentials = [...grants].map(([secretName, names]) => ({ secretName, vmNames: [...names] }));
  return {
    ...a,
    networkControllers,
    machines: [...machines.values()],
    ...(guestCredentials.length > 0 ? { guestCredentials } : {}),
  };
}
