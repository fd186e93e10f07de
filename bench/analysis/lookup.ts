import type { RequestLogEntry } from '../infra/ncAdmin';
import { ms, type StatusDocument } from '../workload/statusDocument';
import { round, summarize, type Summary } from './stats';

export interface LookupCost {
  nicsInController: number;
  /** Of those, NICs on other tenants' networks (the rest are the request's own network's). */
  otherTenantsNics: number;
  nicBy: 'privateIpAddress' | 'resourceId';
  attachments: number;
  completed: number;
  step1Ms: Summary;
  ncBytesRead: Summary;
  ncRequests: Summary;
  /** The first attachment of the run: nothing the app may cache is warm yet. */
  first: { step1Ms: number; ncBytesRead: number };
}

/**
 * Cost of step 1 per attachment when attachments run one at a time: every controller request that started inside
 * an attachment's step 1 window is that attachment's (steps 2-4 of earlier attachments never call the controller).
 */
export function lookupCost(
  documents: readonly StatusDocument[],
  log: readonly RequestLogEntry[],
  nicsInController: number,
  otherTenantsNics: number,
  nicBy: LookupCost['nicBy'],
): LookupCost {
  const rows = documents
    .filter((d) => d.steps[0]?.endedTime)
    .map((d) => {
      const start = ms(d.steps[0]?.startedTime) ?? Number.NaN;
      const end = ms(d.steps[0]?.endedTime) ?? Number.NaN;
      const mine = log.filter((e) => {
        const t = Date.parse(e.time);
        return t >= start - 1 && t <= end;
      });
      return {
        start,
        step1Ms: end - start,
        bytes: mine.reduce((sum, e) => sum + e.responseBytes, 0),
        requests: mine.length,
      };
    })
    .sort((a, b) => a.start - b.start);
  return {
    nicsInController,
    otherTenantsNics,
    nicBy,
    attachments: documents.length,
    completed: documents.filter((d) => d.runtimeStatus === 'Completed').length,
    step1Ms: summarize(rows.map((r) => r.step1Ms)),
    ncBytesRead: summarize(rows.map((r) => r.bytes)),
    ncRequests: summarize(rows.map((r) => r.requests)),
    first: { step1Ms: round(rows[0]?.step1Ms ?? Number.NaN), ncBytesRead: rows[0]?.bytes ?? Number.NaN },
  };
}
