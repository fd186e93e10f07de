import { app, type HttpFunctionOptions, type StorageQueueFunctionOptions } from '@azure/functions';

/**
 * A thin, project-owned wrapper around `app.storageQueue` / `app.http`. The Functions host only sees the `app.*`
 * calls; the wrapper also records each registration so the local runner (dev/runner) can serve the same functions
 * on machines without Core Tools, without relying on host internals.
 */
export type FunctionRegistration =
  | { kind: 'storageQueue'; name: string; options: StorageQueueFunctionOptions }
  | { kind: 'http'; name: string; options: HttpFunctionOptions };

const registrations = new Map<string, FunctionRegistration>();

function remember(registration: FunctionRegistration): void {
  if (registrations.has(registration.name)) {
    throw new TypeError(`A function named "${registration.name}" is already registered.`);
  }
  registrations.set(registration.name, registration);
}

export function registerStorageQueueFunction(name: string, options: StorageQueueFunctionOptions): void {
  remember({ kind: 'storageQueue', name, options });
  app.storageQueue(name, options);
}

export function registerHttpFunction(name: string, options: HttpFunctionOptions): void {
  remember({ kind: 'http', name, options });
  app.http(name, options);
}

/** Every function registered so far in this process, in registration order. */
export function listFunctionRegistrations(): readonly FunctionRegistration[] {
  return [...registrations.values()];
}
