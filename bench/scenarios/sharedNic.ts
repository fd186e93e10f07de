import { nicIdOf } from '../analysis/ncTraffic';
import { completedDocuments, type Timeline, timeline } from '../analysis/timeline';
import { httpsJson } from '../infra/httpsJson';
import type { SharedServices } from '../infra/stack';
import { planAttachments } from '../workload/requests';
import { nicIdFor } from '../workload/topology';
import { type Latencies, runAttachments } from './attachRun';

export interface SharedNicResult {
  attachments: number;
  latencies: Latencies;
  /** Every PUT on the shared NIC, whatever its answer. */
  puts: number;
  putStatuses: Record<string, number>;
  /** Completed attachments whose result lists exactly the addresses they asked for. */
  ownResults: number;
  /** Addresses asked for that the NIC holds at the end. */
  addressesOnNic: number;
  addressesAsked: number;
  timeline: Timeline;
}

/**
 * Many attachments aimed at one VM's NIC at once (several container hosts' worth of containers on one VM): how many
 * NIC writes they cost, and whether each attachment still reports its own addresses.
 */
export async function runSharedNic(
  shared: SharedServices,
  count: number,
  containersPerAttachment: number,
  latencies: Latencies,
  deadlineInMs: number,
): Promise<SharedNicResult> {
  // Ten tenants, all registered for tenant 0's network; every attachment on VM 0's NIC there.
  const plan = {
    tag: 'onenic',
    count,
    fleet: { tenants: Math.min(10, count), vmsPerTenant: 1, hyperVHosts: 1 },
    containersPerAttachment,
    nicBy: 'privateIpAddress' as const,
    sharedNic: true,
  };
  const run = await runAttachments(shared, { name: 'shared NIC', plan, latencies, deadlineInMs });
  const nicId = nicIdFor(0, 0);
  const puts = run.ncLog.filter((e) => e.method === 'PUT' && nicIdOf(e) === nicId.toLowerCase());
  const putStatuses: Record<string, number> = {};
  for (const put of puts) putStatuses[put.status] = (putStatuses[put.status] ?? 0) + 1;

  const asked = new Map(
    planAttachments(plan).map((a) => [a.attachmentId, (a.body.containerIps as { addresses: string[] }).addresses]),
  );
  const ownResults = completedDocuments(run.drive.documents).filter((d) => {
    const got = (d.result.ipConfigurations ?? []).map((c) => c.privateIPAddress).sort();
    const want = [...(asked.get(d.id) ?? [])].sort();
    return got.length === want.length && got.every((a, i) => a === want[i]);
  }).length;

  const nic = await httpsJson(`${shared.nc.baseUrl}/networkInterfaces/${nicId}`, 'GET', shared.caCertPem);
  const held = new Set(
    (
      (nic.body as { properties?: { ipConfigurations?: { properties?: { privateIPAddress?: string } }[] } })?.properties
        ?.ipConfigurations ?? []
    ).map((c) => c.properties?.privateIPAddress),
  );
  const all = [...asked.values()].flat();
  return {
    attachments: count,
    latencies,
    puts: puts.length,
    putStatuses,
    ownResults,
    addressesOnNic: all.filter((a) => held.has(a)).length,
    addressesAsked: all.length,
    timeline: timeline(run.drive, count),
  };
}
