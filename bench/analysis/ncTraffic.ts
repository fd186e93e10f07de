import type { RequestLogEntry } from '../infra/ncAdmin';
import { round } from './stats';

export type NcRequestKind =
  | 'listNics'
  | 'getNic'
  | 'putNic'
  | 'getVirtualNetwork'
  | 'listSubnets'
  | 'getSubnet'
  | 'getAcl'
  | 'getOperation'
  | 'other';

const NC_BASE = /^\/networking\/v1/i;

export function classifyNcRequest(entry: Pick<RequestLogEntry, 'method' | 'path'>): NcRequestKind {
  const path = entry.path.replace(NC_BASE, '').toLowerCase().replace(/\/+$/, '');
  const method = entry.method.toUpperCase();
  if (path === '/networkinterfaces' && method === 'GET') return 'listNics';
  if (/^\/networkinterfaces\/[^/]+$/.test(path))
    return method === 'PUT' ? 'putNic' : method === 'GET' ? 'getNic' : 'other';
  if (/^\/virtualnetworks\/[^/]+$/.test(path) && method === 'GET') return 'getVirtualNetwork';
  // Step 1 reads the network's subnets, whose back-references name the NICs on it.
  if (/^\/virtualnetworks\/[^/]+\/subnets$/.test(path) && method === 'GET') return 'listSubnets';
  if (/^\/virtualnetworks\/[^/]+\/subnets\/[^/]+$/.test(path) && method === 'GET') return 'getSubnet';
  if (/^\/accesscontrollists\/[^/]+$/.test(path) && method === 'GET') return 'getAcl';
  if (/^\/operations\/[^/]+$/.test(path) && method === 'GET') return 'getOperation';
  return 'other';
}

/** The id a NIC request names, lower-cased, or undefined for other requests. */
export function nicIdOf(entry: Pick<RequestLogEntry, 'path'>): string | undefined {
  const match = /\/networkInterfaces\/([^/]+)$/i.exec(entry.path);
  return match?.[1] ? decodeURIComponent(match[1]).toLowerCase() : undefined;
}

export interface KindTraffic {
  requests: number;
  requestsPerAttachment: number;
  bytesReadPerAttachment: number;
  meanResponseBytes: number;
}

export interface NcTraffic {
  attachments: number;
  requestsPerAttachment: number;
  bytesReadPerAttachment: number;
  bytesSentPerAttachment: number;
  byKind: Partial<Record<NcRequestKind, KindTraffic>>;
  putStatuses: Record<string, number>;
  /**
   * The seed workflow per attachment (list all NICs, get subnet, get ACL, one PUT, one poll), priced with the mean
   * response sizes this run observed; NaN where the run never made that kind of request.
   */
  seedWorkflow: { requests: number; bytesRead: number };
}

export function ncTraffic(log: readonly RequestLogEntry[], attachments: number): NcTraffic {
  const groups = new Map<NcRequestKind, RequestLogEntry[]>();
  for (const entry of log) {
    const kind = classifyNcRequest(entry);
    let group = groups.get(kind);
    if (!group) groups.set(kind, (group = []));
    group.push(entry);
  }
  const per = (value: number) => (attachments > 0 ? value / attachments : Number.NaN);
  const byKind: Partial<Record<NcRequestKind, KindTraffic>> = {};
  for (const [kind, entries] of groups) {
    const bytes = entries.reduce((sum, e) => sum + e.responseBytes, 0);
    byKind[kind] = {
      requests: entries.length,
      requestsPerAttachment: round(per(entries.length), 2),
      bytesReadPerAttachment: Math.round(per(bytes)),
      meanResponseBytes: Math.round(bytes / entries.length),
    };
  }
  const meanBytes = (kind: NcRequestKind) => byKind[kind]?.meanResponseBytes ?? Number.NaN;
  const putStatuses: Record<string, number> = {};
  for (const entry of groups.get('putNic') ?? []) putStatuses[entry.status] = (putStatuses[entry.status] ?? 0) + 1;
  return {
    attachments,
    requestsPerAttachment: round(per(log.length), 2),
    bytesReadPerAttachment: Math.round(per(log.reduce((sum, e) => sum + e.responseBytes, 0))),
    bytesSentPerAttachment: Math.round(per(log.reduce((sum, e) => sum + e.requestBytes, 0))),
    byKind,
    putStatuses,
    seedWorkflow: {
      requests: 5,
      bytesRead: Math.round(
        meanBytes('listNics') +
          meanBytes('getSubnet') +
          meanBytes('getAcl') +
          meanBytes('putNic') +
          meanBytes('getOperation'),
      ),
    },
  };
}
