import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { QueueServiceClient } from '@azure/storage-queue';

/**
 * A plain HTTP pass-through in front of Azurite's queue service that remembers every message a runner holds under a
 * lease (received and neither deleted nor released). The runner leases each message for 10 minutes
 * (dev/runner/queueListener.ts MESSAGE_LEASE_IN_SECONDS, a constant), so the messages of a runner killed with
 * SIGKILL, or whose completion failed while storage was down, come back only after 10 minutes. `expire()` ends those
 * leases early, which is what the passing of those 10 minutes would do, so a test can observe recovery quickly.
 *
 * It can also hold or fail chosen requests (e.g. the send of a step message) to put a crash at an exact point.
 */
export interface QueueRequestInfo {
  method: string;
  queue: string;
  kind: 'receive' | 'peek' | 'send' | 'update' | 'delete' | 'other';
  messageId?: string;
}

export type QueueRequestAction = 'pass' | 'hold' | 'fail';

export interface QueueRule {
  match(info: QueueRequestInfo): boolean;
  action: Exclude<QueueRequestAction, 'pass'>;
  /** How many matching requests it applies to; every one when absent. */
  times?: number;
  /** Called when the rule fires (before the request is held or failed). */
  onMatch?(info: QueueRequestInfo): void;
}

interface Lease {
  queue: string;
  popReceipt: string;
  /** leased: a live holder may still complete it; orphaned: the holder tried to complete it and storage failed. */
  state: 'leased' | 'orphaned';
}

export interface QueueLeaseProxy {
  port: number;
  /** Messages leased and not completed, by id. */
  leases(): ReadonlyMap<string, Readonly<Lease>>;
  addRule(rule: QueueRule): void;
  clearRules(): void;
  /** Requests currently held; `releaseHeld()` forwards them, `dropHeld()` cuts them off (they never reach storage). */
  heldCount(): number;
  releaseHeld(): void;
  dropHeld(): void;
  /**
   * Ends the leases of messages in the given states: they become visible after `visibleInSeconds`. Returns how many
   * were made visible again (a message deleted meanwhile is simply skipped).
   */
  expire(options: { states: Lease['state'][]; visibleInSeconds: number }): Promise<number>;
  /** Upstream port (Azurite's queue port); may change when Azurite restarts elsewhere. */
  setUpstreamPort(port: number): void;
  close(): Promise<void>;
}

const MESSAGE_PATH = /^\/[^/]+\/([^/?]+)\/messages(?:\/([^/?]+))?$/;

function describe(method: string, url: string): QueueRequestInfo {
  const [rawPath = '', query = ''] = url.split('?');
  const match = MESSAGE_PATH.exec(decodeURIComponent(rawPath));
  if (!match) return { method, queue: '', kind: 'other' };
  const queue = match[1] ?? '';
  const messageId = match[2];
  if (messageId !== undefined) {
    if (method === 'DELETE') return { method, queue, kind: 'delete', messageId };
    if (method === 'PUT') return { method, queue, kind: 'update', messageId };
    return { method, queue, kind: 'other', messageId };
  }
  if (method === 'POST') return { method, queue, kind: 'send' };
  if (method === 'GET') return { method, queue, kind: /peekonly=true/i.test(query) ? 'peek' : 'receive' };
  return { method, queue, kind: 'other' };
}

function queryParam(url: string, name: string): string | undefined {
  const query = url.split('?')[1] ?? '';
  return new URLSearchParams(query).get(name) ?? undefined;
}

function tag(block: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(block)?.[1];
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export async function startQueueLeaseProxy(options: {
  upstreamPort: number;
  connectionString: string;
  port?: number;
}): Promise<QueueLeaseProxy> {
  let upstreamPort = options.upstreamPort;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const leases = new Map<string, Lease>();
  const rules: { rule: QueueRule; remaining: number | undefined }[] = [];
  const held: { forward: () => void; drop: () => void }[] = [];
  const direct = QueueServiceClient.fromConnectionString(options.connectionString);

  const actionFor = (info: QueueRequestInfo): QueueRequestAction => {
    for (const entry of rules) {
      if (entry.remaining === 0 || !entry.rule.match(info)) continue;
      if (entry.remaining !== undefined) entry.remaining--;
      entry.rule.onMatch?.(info);
      return entry.rule.action;
    }
    return 'pass';
  };

  const orphan = (info: QueueRequestInfo): void => {
    const lease = info.messageId === undefined ? undefined : leases.get(info.messageId);
    if (lease) lease.state = 'orphaned';
  };

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer, info: QueueRequestInfo) => {
    const url = incoming.url ?? '/';
    const upstream = request(
      { host: '127.0.0.1', port: upstreamPort, method: incoming.method, path: url, headers: incoming.headers, agent },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', () => outgoing.destroy());
        answer.on('end', () => {
          const status = answer.statusCode ?? 502;
          const text = Buffer.concat(chunks);
          if (info.kind === 'receive' && status === 200) {
            for (const block of text.toString('utf8').split('<QueueMessage>').slice(1)) {
              const id = tag(block, 'MessageId');
              const popReceipt = tag(block, 'PopReceipt');
              if (id && popReceipt)
                leases.set(id, { queue: info.queue, popReceipt: unescapeXml(popReceipt), state: 'leased' });
            }
          } else if (info.kind === 'update' && info.messageId !== undefined) {
            const lease = leases.get(info.messageId);
            const receipt = answer.headers['x-ms-popreceipt'];
            if (status >= 200 && status < 300 && lease) {
              const visibility = Number(queryParam(url, 'visibilitytimeout') ?? '0');
              // A renewal keeps the lease (with a new receipt); a release hands the message back to the queue.
              if (visibility >= 60 && typeof receipt === 'string') lease.popReceipt = receipt;
              else leases.delete(info.messageId);
            } else if (status === 404 || status === 400) {
              leases.delete(info.messageId);
            } else {
              orphan(info);
            }
          } else if (info.kind === 'delete' && info.messageId !== undefined) {
            if ((status >= 200 && status < 300) || status === 404 || status === 400) leases.delete(info.messageId);
            else orphan(info);
          }
          if (outgoing.destroyed) return;
          outgoing.writeHead(status, answer.headers);
          outgoing.end(text);
        });
      },
    );
    upstream.on('error', () => {
      // Storage down: the caller sees a dropped connection, and a completion it attempted did not happen.
      if (info.kind === 'update' || info.kind === 'delete') orphan(info);
      outgoing.destroy();
    });
    upstream.end(body);
  };

  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const info = describe(incoming.method ?? 'GET', incoming.url ?? '/');
      const action = actionFor(info);
      if (action === 'fail') {
        outgoing.writeHead(500, { 'content-type': 'application/xml', 'x-ms-error-code': 'InternalError' });
        outgoing.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>InternalError</Code></Error>');
        return;
      }
      if (action === 'hold') {
        held.push({ forward: () => forward(incoming, outgoing, body, info), drop: () => outgoing.destroy() });
        return;
      }
      forward(incoming, outgoing, body, info);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    leases: () => leases,
    addRule: (rule) => rules.push({ rule, remaining: rule.times }),
    clearRules: () => void rules.splice(0),
    heldCount: () => held.length,
    releaseHeld: () => {
      for (const request of held.splice(0)) request.forward();
    },
    dropHeld: () => {
      for (const request of held.splice(0)) request.drop();
    },
    async expire({ states, visibleInSeconds }) {
      let count = 0;
      for (const [id, lease] of [...leases]) {
        if (!states.includes(lease.state)) continue;
        leases.delete(id);
        try {
          await direct.getQueueClient(lease.queue).updateMessage(id, lease.popReceipt, undefined, visibleInSeconds);
          count++;
        } catch {
          // Deleted or completed meanwhile.
        }
      }
      return count;
    },
    setUpstreamPort: (port) => {
      upstreamPort = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
