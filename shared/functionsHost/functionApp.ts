import { app, type HttpFunctionOptions, type StorageQueueFunctionOptions } from '@azure/functions';

/**
 * A thin, project-owned wrapper around `app.storageQueue` / `app.http`. The Functions host only sees the `app.*`
 * calls; the wrapper also records each registration so the local runner (dev/runner) can serve the same functions
 * on machines without Core Tools, without relying on host internals.
 */
export type FunctionRegistration =
  | { kind: 'storageQueue'; name: string; options: StorageQueueFunctionOptions }
  | { kind: 'http'; name: string; options: HttpFunctionOptions };

/**
 * `admin/tenants`, as a route template the Functions host accepts: it refuses every route that starts with `admin`
 * or `runtime` (its own built-in routes), whatever the route prefix, so the first segment is a parameter that
 * matches only "admin" (azure-functions-host#1781). Served at `/api/admin/tenants`.
 */
export const ADMIN_ROUTE = '{area:regex(^admin$)}/tenants';

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
