import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import { listenHttps } from '../../dev/listen';
import { testCa } from './tls';

/** One Application Insights envelope as the Azure Monitor exporter sends it (Breeze v2.1 `track`). */
export interface Envelope {
  name: string;
  time: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: {
    baseType?: string;
    baseData?: {
      id?: string;
      name?: string;
      message?: string;
      severityLevel?: string;
      responseCode?: string;
      success?: boolean;
      properties?: Record<string, string>;
    };
  };
}

/** The instrumentation key of the fake resource (a GUID, as the exporter checks). */
export const TEST_INSTRUMENTATION_KEY = '00000000-0000-4000-8000-0000000000a1';

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/**
 * A loopback Application Insights ingestion endpoint (HTTPS, the test CA: the exporter only speaks HTTPS) that keeps
 * what it is sent: `POST /v2.1/track` (the envelopes, gzip or not), Live Metrics (`/QuickPulseService.svc/*`,
 * answered "not subscribed"). With it, a loopback proxy for the process under test, so whatever the SDK would send
 * elsewhere (its settings and statistics services) stays on this machine: each CONNECT is recorded in
 * `refusedTunnels` and refused. The process must trust the test CA (`testCa().caCertPem`).
 */
export async function startIngestion() {
  const envelopes: Envelope[] = [];
  const refusedTunnels: string[] = [];
  const { certPem, keyPem } = testCa().issueServerCertificate(['127.0.0.1']);
  const server = createServer({ cert: certPem, key: keyPem }, (request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      const path = (request.url ?? '').split('?')[0] ?? '';
      if (request.method === 'POST' && /\/v2(\.1)?\/track$/.test(path)) {
        const items = JSON.parse(body.toString('utf8') || '[]') as Envelope[] | Envelope;
        const batch = Array.isArray(items) ? items : [items];
        envelopes.push(...batch);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ itemsReceived: batch.length, itemsAccepted: batch.length, errors: [] }));
        return;
      }
      if (path.includes('QuickPulseService.svc')) {
        response.writeHead(200, { 'x-ms-qps-subscribed': 'false', 'content-type': 'application/json' });
        response.end('{}');
        return;
      }
      response.writeHead(404);
      response.end();
    })().catch(() => response.destroy());
  });
  const proxy = createHttpServer((_request, response) => {
    response.writeHead(403);
    response.end();
  });
  proxy.on('connect', (request, socket) => {
    refusedTunnels.push(request.url ?? '');
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  const listening = await listenHttps(server, 0, '127.0.0.1');
  const { origin } = listening;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyOrigin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    origin,
    envelopes,
    refusedTunnels,
    connectionString: `InstrumentationKey=${TEST_INSTRUMENTATION_KEY};IngestionEndpoint=${origin}/;LiveEndpoint=${origin}/`,
    /**
     * The settings that point the app here and keep the SDK on loopback and off the Azure metadata service: the
     * platform is named (so no VM is probed), its own statistics are off, and anything else goes through the proxy.
     */
    environment(): Record<string, string> {
      return {
        APPLICATIONINSIGHTS_CONNECTION_STRING: this.connectionString,
        WEBSITE_SITE_NAME: 'sdn-attach-test',
        FUNCTIONS_EXTENSION_VERSION: '~4',
        APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
        APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
        // Every span, so a test sees whole traces (the default samples by rate, and the runner's own queue polls
        // count against it).
        OTEL_TRACES_SAMPLER: 'always_on',
        HTTPS_PROXY: proxyOrigin,
        HTTP_PROXY: proxyOrigin,
        NO_PROXY: '127.0.0.1,localhost',
      };
    },
    close: async () => {
      await listening.close();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

export type Ingestion = Awaited<ReturnType<typeof startIngestion>>;
