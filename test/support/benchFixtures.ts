import type { LookupCost } from '../../bench/analysis/lookup';
import { summarize } from '../../bench/analysis/stats';
import type { ScaleRun } from '../../bench/results';

/** One side of the bench's scale pair: 10 attachments per tenant, every one completed, the figures as given. */
export function scaleRunOf(
  attachments: number,
  figures: { opsPerAttachment?: number; appCpuMs: number; ncBytes?: number; rssMb?: number },
): ScaleRun {
  const ops = figures.opsPerAttachment ?? 11;
  return {
    attachments,
    fleet: { tenants: attachments / 10, vmsPerTenant: 2, hyperVHosts: attachments / 50 },
    latencies: { ncGetLatencyInMs: 1, provisioningDelayInMs: 100, runDurationInMs: 1_000 },
    completed: attachments,
    notEnded: 0,
    makespanMs: 1,
    storageOpsPerAttachment: ops,
    queueOpsPerAttachment: ops / 2,
    tableOpsPerAttachment: ops / 2,
    appCpuMsPerAttachment: figures.appCpuMs,
    ncBytesReadPerAttachment: figures.ncBytes ?? 2_048,
    ncRequestsPerAttachment: 5,
    ...(figures.rssMb === undefined ? {} : { runnerPeakRssMb: figures.rssMb }),
    endToEndMs: summarize([1]),
  };
}

/** Step 1's cost on a tenant network of 10 NICs with `otherTenantsNics` more in the controller. */
export function lookupCostOf(otherTenantsNics: number, bytes: number, step1Ms: number, firstBytes = bytes): LookupCost {
  return {
    nicsInController: 10 + otherTenantsNics,
    otherTenantsNics,
    nicBy: 'privateIpAddress',
    attachments: 10,
    completed: 10,
    step1Ms: summarize(Array.from({ length: 10 }, () => step1Ms)),
    ncBytesRead: summarize(Array.from({ length: 10 }, () => bytes)),
    ncRequests: summarize([5]),
    first: { step1Ms, ncBytesRead: firstBytes },
  };
}
