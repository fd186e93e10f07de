import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { testCa } from '../../support/tls';

/** What a request looks like to the decision function. */
export interface ProxiedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: string;
}

/**
 * What the proxy does with one request:
 * - `status`: answer with this status (and an error body) without forwarding;
 * - `latencyInMs`: wait, then go on (a caller whose timeout is shorter gives up; the request still reaches the server);
 * - `answerDelayInMs`: forward at once, deliver the answer this much later (a read that is stale when it arrives);
 * - `after: 'drop'`: forward, let the server act, then cut the connection instead of answering (the answer is lost);
 * - `after: 'hold'`: forward, then never answer (for a crash placed right after the remote side acted);
 * - `onForwarded`: called once the server has answered (before the answer is delivered, dropped or held).
 */
export interface ProxyDecision {
  latencyInMs?: number;
  answerDelayInMs?: number;
  status?: number;
  code?: string;
  retryAfterInSeconds?: number;
  after?: 'drop' | 'hold';
  onForwarded?: (status: number) => void | Promise<void>;
}

export interface HttpsFaultProxy {
  origin: string;
  close(): Promise<void>;
}

/**
 * An HTTPS pass-through (certificate from the test CA, so the app trusts it like the emulators) that lets a test
 * decide per request to fail, slow, or lose the answer of a call to an emulator.
 */
export async function startHttpsFaultProxy(options: {
  target: string;
  decide: (request: ProxiedRequest) => ProxyDecision | undefined | Promise<ProxyDecision | undefined>;
}): Promise<HttpsFaultProxy> {
  const ca = testCa();
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true, ca: ca.caCertPem, maxSockets: 256 });
  let origin = '';
  const rewrite = (text: string) => text.split(target.origin).join(origin);
  const { certPem, keyPem } = ca.issueServerCertificate(['127.0.0.1']);
  const server = createServer({ cert: certPem, key: keyPem }, (incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      void (async () => {
        const [path = '/', query = ''] = (incoming.url ?? '/').split('?');
        const method = (incoming.method ?? 'GET').toUpperCase();
        const decision = (await options.decide({ method, path, query })) ?? {};
        if (decision.latencyInMs) await sleep(decision.latencyInMs);
        if (decision.status !== undefined) {
          if (outgoing.destroyed) return;
          outgoing.writeHead(decision.status, {
            'content-type': 'application/json; charset=utf-8',
            ...(decision.retryAfterInSeconds === undefined
              ? {}
              : { 'retry-after': String(decision.retryAfterInSeconds) }),
          });
          outgoing.end(
            JSON.stringify({
              error: { code: decision.code ?? 'InjectedFault', message: `Injected HTTP ${decision.status}.` },
            }),
          );
          return;
        }
        const headers = { ...incoming.headers, host: target.host };
        const upstream = request(
          { host: target.hostname, port: target.port, method, path: incoming.url, headers, agent },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => body.push(chunk));
            answer.on('end', () => {
              void (async () => {
                await decision.onForwarded?.(answer.statusCode ?? 502);
                if (decision.answerDelayInMs) await sleep(decision.answerDelayInMs);
                if (decision.after === 'hold') return;
                if (decision.after === 'drop' || outgoing.destroyed) {
                  outgoing.destroy();
                  return;
                }
                // Absolute URLs the server hands out (Azure-AsyncOperation, Location, operation links) point here.
                const headers: Record<string, string | string[]> = {};
                for (const [name, value] of Object.entries(answer.headers)) {
                  if (value === undefined || ['content-length', 'transfer-encoding', 'connection'].includes(name))
                    continue;
                  headers[name] = Array.isArray(value) ? value.map(rewrite) : rewrite(value);
                }
                const text = Buffer.from(rewrite(Buffer.concat(body).toString('utf8')), 'utf8');
                headers['content-length'] = String(text.length);
                outgoing.writeHead(answer.statusCode ?? 502, headers);
                outgoing.end(text);
              })();
            });
          },
        );
        upstream.on('error', () => outgoing.destroy());
        upstream.end(Buffer.concat(chunks));
      })().catch(() => outgoing.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
