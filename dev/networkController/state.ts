import type { IncomingHttpHeaders } from 'node:http';

import type { FaultRegistry, FaultRule } from './faults';
import type { OperationTracker } from './operations';
import type { ResourceStore } from './store';

export interface EmulatorSettings {
  provisioningDelayInMs: number;
  /** Status for synchronous validation failures: the spec shows both 400 (example) and 500 (status table). */
  validationStatus: 400 | 500;
  /**
   * Spec §1.3.3: a top-level PUT cancels an in-progress PUT on the same tree. Off by default, so a second write
   * gets the 409 AnotherOperationInProgress clients must handle anyway.
   */
  cancelInProgressOnPut: boolean;
}

export interface EmulatorState {
  store: ResourceStore;
  operations: OperationTracker;
  faults: FaultRegistry;
  settings: EmulatorSettings;
  origin: string;
}

export interface ApiRequest {
  method: string;
  /** Decoded path segments after /networking/v1. */
  segments: string[];
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The fault rule that matched this request without short-circuiting it (latency, async outcome). */
  fault?: FaultRule;
}

export function operationUrl(state: EmulatorState, operationId: string): string {
  return `${state.origin}/networking/v1/operations/${operationId}`;
}

export function operationResultUrl(state: EmulatorState, operationId: string): string {
  return `${state.origin}/networking/v1/operationResults/${operationId}`;
}
