import type { RequestLogEntry } from '../../dev/networkController/requestLog';
import { httpsJsonOk } from './httpsJson';

export type { RequestLogEntry };

/** One resource for `POST /_emulator/resources`: stored as given, no validation. */
export interface RawResource {
  resourceRef: string;
  body: Record<string, unknown>;
}

/** Loading 10,000 NICs in one body is ~10 MB; chunks keep each request and its JSON.parse short. */
const LOAD_CHUNK = 2_000;

/** The Network Controller emulator's /_emulator control routes (not part of the NC API). */
export class NcAdmin {
  constructor(
    private readonly origin: string,
    private readonly caCertPem: string,
  ) {}

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    return httpsJsonOk(`${this.origin}/_emulator/${path}`, method, this.caCertPem, body);
  }

  /** Empty (or back to the seed scenario): no faults, empty request log, no operations in flight. */
  async reset(seed: boolean): Promise<void> {
    await this.call('POST', 'reset', { seed });
  }

  async load(resources: readonly RawResource[]): Promise<void> {
    for (let i = 0; i < resources.length; i += LOAD_CHUNK) {
      await this.call('POST', 'resources', { resources: resources.slice(i, i + LOAD_CHUNK) });
    }
  }

  async setProvisioningDelay(provisioningDelayInMs: number): Promise<void> {
    await this.call('PUT', 'settings', { provisioningDelayInMs });
  }

  /** Every controller GET (reads and operation polls) waits this long before it is answered. */
  async addGetLatency(latencyInMs: number): Promise<void> {
    if (latencyInMs > 0) await this.call('POST', 'faults', { method: 'GET', path: '.*', latencyInMs });
  }

  async requests(): Promise<RequestLogEntry[]> {
    return (await this.call('GET', 'requests')) as RequestLogEntry[];
  }

  async clearRequests(): Promise<void> {
    await this.call('DELETE', 'requests');
  }
}
