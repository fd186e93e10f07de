import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Storage requests by kind, e.g. `queue.send`, `table.batch`; a receive is `queue.receive.messages` or
 * `queue.receive.empty` (or `queue.receive.failed`, e.g. a 404 while a queue does not exist yet).
 */
export type StorageCounts = Record<string, number>;

export interface CountingProxy {
  service: 'queue' | 'table';
  port: number;
  counts: StorageCounts;
  /** Answers with status 400 or more, by kind and status (409/412 are etag races, 404 absent rows/queues). */
  failures: StorageCounts;
  /**
   * Queue proxy: messages in storage (sent, not yet deleted) as each queue operation found them, averaged, and
   * their peak. Azurite scans every stored message on each queue operation, so its cost per operation grows with
   * this number.
   */
  residentMessages: { meanAtOperation: number; peak: number };
  reset(): void;
  close(): Promise<void>;
}

const ACCOUNT_PREFIX = /^\/[^/]+/;

/** Names an Azure Queue or Table REST call from its method and path (Azurite's path-style URLs). */
export function classifyStorageRequest(service: 'queue' | 'table', method: string, url: string): string {
  const [rawPath = '', query = ''] = url.split('?');
  const path = decodeURIComponent(rawPath).replace(ACCOUNT_PREFIX, '');
  if (service === 'queue') {
    if (/^\/[^/]+\/messages\/[^/]+$/.test(path)) return method === 'DELETE' ? 'queue.delete' : 'queue.update';
    if (/^\/[^/]+\/messages$/.test(path)) {
      if (method === 'POST') return 'queue.send';
      return /peekonly=true/i.test(query) ? 'queue.peek' : 'queue.receive';
    }
    return `queue.other.${method}`;
  }
  if (path === '/$batch') return 'table.batch';
  if (/^\/Tables(\(|$)/i.test(path)) return `table.tables.${method}`;
  if (/\(PartitionKey=.*,RowKey=.*\)$/.test(path)) {
    if (method === 'GET') return 'table.read';
    if (method === 'DELETE') return 'table.delete';
    return 'table.update';
  }
  if (method === 'POST') return 'table.insert';
  if (method === 'GET') return 'table.query';
  return `table.other.${method}`;
}

/**
 * A plain HTTP pass-through in front of one Azurite service that counts requests by kind, so the storage operations
 * an attachment needs are measured rather than derived from reading the code. Receives are split into those that
 * returned a message and empty polls (listener overhead, not work an attachment needs).
 */
export async function startCountingProxy(service: 'queue' | 'table', upstreamPort: number): Promise<CountingProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let counts: StorageCounts = {};
  let failures: StorageCounts = {};
  const resident = { now: 0, peak: 0, sumAtOperations: 0, operations: 0 };
  const add = (map: StorageCounts, key: string): void => {
    map[key] = (map[key] ?? 0) + 1;
  };
  const server: Server = createServer((incoming, outgoing) => {
    const kind = classifyStorageRequest(service, incoming.method ?? 'GET', incoming.url ?? '/');
    if (kind !== 'queue.receive') add(counts, kind);
    if (service === 'queue') {
      resident.sumAtOperations += resident.now;
      resident.operations += 1;
    }
    const upstream = request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent,
      },
      (answer: IncomingMessage) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        const status = answer.statusCode ?? 0;
        if (status >= 400) add(failures, `${kind}.${status}`);
        // Starts at 0 with the run's fresh Azurite, so sends minus deletes is what it holds.
        if (kind === 'queue.send' && status < 300) resident.peak = Math.max(resident.peak, ++resident.now);
        if (kind === 'queue.delete' && status < 300) resident.now -= 1;
        if (kind === 'queue.receive' && status >= 400) add(counts, 'queue.receive.failed');
        else if (kind === 'queue.receive') {
          let messages = 0;
          answer.on('data', (chunk: Buffer) => {
            messages += chunk.toString('latin1').split('<QueueMessage>').length - 1;
          });
          answer.on('end', () => add(counts, messages > 0 ? 'queue.receive.messages' : 'queue.receive.empty'));
        }
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', (error) => {
      add(failures, 'proxy.error');
      outgoing.destroy(error);
    });
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    service,
    port: (server.address() as AddressInfo).port,
    get counts() {
      return counts;
    },
    get failures() {
      return failures;
    },
    get residentMessages() {
      const meanAtOperation = resident.operations > 0 ? resident.sumAtOperations / resident.operations : 0;
      return { meanAtOperation: Math.round(meanAtOperation), peak: resident.peak };
    },
    reset: () => {
      counts = {};
      failures = {};
      // What is stored stays stored; only the averages start again.
      resident.peak = resident.now;
      resident.sumAtOperations = 0;
      resident.operations = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
