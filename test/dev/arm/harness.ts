import { request } from 'node:https';

import { startArmEmulator } from '../../../dev/arm';
import type { MachineSnapshot } from '../../../dev/arm/SimulatedWindowsMachine';
import type { RunCommandInstanceView } from '../../../shared/arc/armResources';
import { parseResultLine, type ScriptResult } from '../../../shared/arc/resultLine';
import { noTokenProvider, RunCommandClient, type RunCommandClientOptions } from '../../../shared/arc/RunCommandClient';
import { type HostScriptName, hostScripts, type RunCommandParameter } from '../../../shared/arc/scripts';
import { testCa } from '../../support/tls';

export const LAB = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'sdn-lab',
  location: 'westus2',
} as const;

export function machine(machineName: string) {
  return { subscriptionId: LAB.subscriptionId, resourceGroup: LAB.resourceGroup, machineName };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export type TestArmEmulator = Awaited<ReturnType<typeof startTestArmEmulator>>;

let runCounter = 0;

export async function startTestArmEmulator(options: { runDurationInMs?: number; seed?: boolean } = {}) {
  const ca = testCa();
  const emulator = await startArmEmulator({
    port: 0,
    tls: ca.issueServerCertificate(['127.0.0.1']),
    runDurationInMs: options.runDurationInMs ?? 30,
    seed: options.seed,
  });

  const raw = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<RawResponse>((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        `${emulator.origin}${path}`,
        { method, ca: ca.caCertPem, headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: text ? (JSON.parse(text) as unknown) : undefined,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });

  const client = (options: Partial<RunCommandClientOptions> = {}) =>
    new RunCommandClient(emulator.origin, {
      credential: noTokenProvider(),
      caCertPem: ca.caCertPem,
      retryDelayInMs: 5,
      maxRetryDelayInMs: 2_000,
      ...options,
    });

  return {
    origin: emulator.origin,
    caCertPem: ca.caCertPem,
    close: () => emulator.close(),
    raw,
    client,
    /** Runs a product script through the real client until it ends; returns its end state and parsed result line. */
    runScript: async (
      machineName: string,
      scriptName: HostScriptName,
      parameters: RunCommandParameter[] = [],
    ): Promise<{ view: RunCommandInstanceView; result: ScriptResult | undefined }> => {
      const runs = client();
      const name = `script-${++runCounter}`;
      await runs.createOrReplaceRunCommand(machine(machineName), name, {
        location: LAB.location,
        script: hostScripts[scriptName].text,
        parameters,
        timeoutInSeconds: 60,
      });
      for (;;) {
        const view = (await runs.getRunCommand(machine(machineName), name)).instanceView;
        if (view && !['Pending', 'Running'].includes(view.executionState)) {
          return { view, result: parseResultLine(view.output) };
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    inspect: async (name: string) => {
      const response = await raw('GET', `/_emulator/machines/${name}`);
      if (response.status !== 200) throw new Error(`inspect ${name}: HTTP ${response.status}`);
      return response.body as MachineSnapshot & { runCommands: { name: string; executionState: string }[] };
    },
    setMachine: async (name: string, switches: Record<string, unknown>) => {
      const response = await raw('PUT', `/_emulator/machines/${name}`, switches);
      if (response.status !== 200)
        throw new Error(`setMachine ${name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    },
    addFault: async (rule: Record<string, unknown>) => {
      const response = await raw('POST', '/_emulator/faults', rule);
      if (response.status !== 201)
        throw new Error(`addFault: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    },
    reset: async () => {
      await raw('POST', '/_emulator/reset');
    },
  };
}
