import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Envelope, type Ingestion, startIngestion, TEST_INSTRUMENTATION_KEY } from '../support/ingestion';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';
import { testCa } from '../support/tls';

const ATTACH_STEPS = [
  'addIpConfigurations',
  'enableNetworkProxy',
  'installPrivateCloudPlugin',
  'createContainerNetwork',
];
const DIMENSIONS = ['invocationId', 'functionName', 'tenantId', 'attachmentId', 'step', 'delivery'];
// What must never reach a dimension: credentials of any kind, and the connection string itself.
const SECRET_LIKE = /-----BEGIN|PRIVATE KEY|password|secret|token|sig=|AccountKey|SharedAccessSignature|Bearer /i;

const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

/**
 * Telemetry as Application Insights receives it, from the runner with APPLICATIONINSIGHTS_CONNECTION_STRING set:
 * the real distro and exporter, sending to a loopback ingestion endpoint.
 */
describe('one attachment, one trace, through the runner to Application Insights', () => {
  let ingestion: Ingestion;
  let stack: Stack;
  let caDirectory: string;

  beforeAll(async () => {
    ingestion = await startIngestion();
    caDirectory = mkdtempSync(join(tmpdir(), 'telemetry-ca-'));
    const caFile = join(caDirectory, 'ca.pem');
    writeFileSync(caFile, testCa().caCertPem);
    stack = await startStack({
      env: { ...ingestion.environment(), NODE_EXTRA_CA_CERTS: caFile, MACHINE_TASK_REUSE_MS: '0' },
    });
  });
  afterAll(async () => {
    await stack.stop();
    await ingestion.close();
    rmSync(caDirectory, { recursive: true, force: true });
  });

  /** Our functions' request records (one per invocation) and log records in `traceId`, once `done` says so. */
  async function recordsOf(
    traceId: string,
    done: (requests: Envelope[], messages: Envelope[]) => boolean,
    timeoutInMs = 30_000,
  ) {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const inTrace = ingestion.envelopes.filter(
        (e) => e.iKey === TEST_INSTRUMENTATION_KEY && e.tags?.['ai.operation.id'] === traceId,
      );
      const requests = inTrace.filter(
        (e) => e.data?.baseType === 'RequestData' && e.data.baseData?.properties?.functionName !== undefined,
      );
      const messages = inTrace.filter((e) => e.data?.baseType === 'MessageData');
      if (done(requests, messages)) return { requests, messages };
      if (Date.now() > deadline) {
        const names = requests.map((r) => r.data?.baseData?.name).join(', ');
        throw new Error(`Telemetry of trace ${traceId} incomplete after ${timeoutInMs} ms; requests: ${names}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  const stepOf = (request: Envelope) => (request.data?.baseData?.name ?? '').replace(/(Rechecks|Poison)$/, '');
  // Every function's request record, and the log lines of every step after the first (the HTTP call): logs and
  // spans are exported in batches of their own, so one may arrive before the other.
  const hasAll = (steps: string[]) => (requests: Envelope[], messages: Envelope[]) =>
    steps.every((s) => requests.some((r) => stepOf(r) === s)) &&
    steps.slice(1).every((s) => messages.some((m) => m.data?.baseData?.properties?.step === s));

  /** The functions from `request` back to the one with no parent among them, following each hop's parent span. */
  function hopsBackFrom(request: Envelope, requests: Envelope[]): string[] {
    const byId = new Map(requests.map((r) => [r.data?.baseData?.id, r]));
    const hops: string[] = [];
    for (let at: Envelope | undefined = request; at; at = byId.get(at.tags?.['ai.operation.parentId'])) {
      hops.unshift(stepOf(at));
      if (hops.length > 100) throw new Error('cycle in the parent spans');
    }
    return hops;
  }

  function expectStepLogsCarryDimensions(requests: Envelope[], messages: Envelope[], attachmentId: string) {
    const invocations = new Map(requests.map((r) => [r.data?.baseData?.properties?.invocationId, r]));
    const stepLines = messages.filter((m) => m.data?.baseData?.message?.startsWith(`[contoso/${attachmentId} `));
    expect(stepLines.length).toBeGreaterThan(0);
    for (const line of stepLines) {
      const properties = line.data?.baseData?.properties ?? {};
      expect(properties).toMatchObject({ tenantId: 'contoso', attachmentId });
      expect(properties.step).toMatch(/^[a-zA-Z]+$/);
      expect(properties.delivery).toMatch(/^[1-9]\d*$/);
      // The invocation that wrote it, and under that invocation's span.
      const invocation = invocations.get(properties.invocationId);
      expect(invocation).toBeDefined();
      expect(line.tags?.['ai.operation.parentId']).toBe(invocation?.data?.baseData?.id);
      expect(stepOf(invocation!)).toBe(properties.step);
    }
  }

  function expectNoSecretInAnyDimension() {
    const ours = ingestion.envelopes.filter((e) => e.iKey === TEST_INSTRUMENTATION_KEY);
    for (const envelope of ours) {
      if (envelope.data?.baseType !== 'MessageData' && envelope.data?.baseType !== 'RequestData') continue;
      const properties = envelope.data.baseData?.properties ?? {};
      const fromOurs = properties.functionName !== undefined;
      for (const [key, value] of Object.entries(properties)) {
        if (fromOurs && !key.startsWith('_MS.')) expect(DIMENSIONS).toContain(key);
        expect(value).not.toMatch(SECRET_LIKE);
        expect(value).not.toContain(TEST_INSTRUMENTATION_KEY);
      }
    }
  }

  it('carries the caller’s trace from the submit through all four steps, a new span per hop', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const submitted = await stack.api(
      'POST',
      '/tenants/contoso/attachments',
      { ...seedRequest(), attachmentId: 'traced-1' },
      { traceparent: traceparent(traceId, '00f067aa0ba902b7'), tracestate: 'rojo=00f067aa0ba902b7' },
    );
    expect(submitted.status).toBe(202);
    expect(await stack.waitForEnd('contoso', 'traced-1')).toMatchObject({ runtimeStatus: 'Completed' });

    const { requests, messages } = await recordsOf(traceId, hasAll(['submitAttachment', ...ATTACH_STEPS]));
    const last = requests.find((r) => stepOf(r) === 'createContainerNetwork');
    const hops = hopsBackFrom(last!, requests);
    // submit → step 1 → 2 → 3 → 4, with a step's own re-checks (its own hops) in between.
    expect(hops.filter((h, i) => h !== hops[i - 1])).toEqual(['submitAttachment', ...ATTACH_STEPS]);
    const ids = requests.map((r) => r.data?.baseData?.id);
    expect(new Set(ids).size).toBe(ids.length);
    expectStepLogsCarryDimensions(requests, messages, 'traced-1');
    expectNoSecretInAnyDimension();
  });

  it('gives a detach, and a repair, the trace of the request that asked for it', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'traced-2',
      network: { name: 'TracedNet', driver: 'l2bridge' },
      containerIps: { addresses: ['192.168.1.140'] },
    });
    expect(await stack.waitForEnd('contoso', 'traced-2')).toMatchObject({ runtimeStatus: 'Completed' });

    const repairTrace = '0af7651916cd43dd8448eb211c80319c';
    await stack.armAdmin('PUT', '/_emulator/machines/ContainerHostVM1', { reboot: true });
    const repair = await stack.api('POST', '/tenants/contoso/attachments/traced-2/repair', undefined, {
      traceparent: traceparent(repairTrace, 'b7ad6b7169203331'),
    });
    expect(repair.status).toBe(202);
    expect(await stack.waitForEnd('contoso', 'traced-2')).toMatchObject({ runtimeStatus: 'Completed' });
    const repaired = await recordsOf(repairTrace, hasAll(['repairAttachment', 'createContainerNetwork']));
    const repairedHops = hopsBackFrom(
      repaired.requests.find((r) => stepOf(r) === 'createContainerNetwork')!,
      repaired.requests,
    );
    expect(repairedHops.filter((h, i) => h !== repairedHops[i - 1])).toEqual([
      'repairAttachment',
      'createContainerNetwork',
    ]);
    expectStepLogsCarryDimensions(repaired.requests, repaired.messages, 'traced-2');

    const detachTrace = 'd4cda95b652f4a1592b449d5929fda1b';
    const detach = await stack.api('DELETE', '/tenants/contoso/attachments/traced-2', undefined, {
      traceparent: traceparent(detachTrace, '6e0c63257de34c92'),
    });
    expect(detach.status).toBe(202);
    expect(await stack.waitForEnd('contoso', 'traced-2')).toMatchObject({ runtimeStatus: 'Detached' });
    const detached = await recordsOf(detachTrace, hasAll(['detachAttachment', 'removeIpConfigurations']));
    const detachHops = hopsBackFrom(
      detached.requests.find((r) => stepOf(r) === 'removeIpConfigurations')!,
      detached.requests,
    );
    expect(detachHops.filter((h, i) => h !== detachHops[i - 1])).toEqual([
      'detachAttachment',
      'removeContainerNetwork',
      'removeIpConfigurations',
    ]);
    expectStepLogsCarryDimensions(detached.requests, detached.messages, 'traced-2');
    expectNoSecretInAnyDimension();
  });

  it('let nothing but the SDK’s own Azure services try to leave this machine (through the refusing proxy)', () => {
    for (const tunnel of ingestion.refusedTunnels) expect(tunnel).toMatch(/\.(azure|visualstudio)\.com:443$/);
  });
});
