import { app, type HttpFunctionOptions, type StorageQueueFunctionOptions } from '@azure/functions';

import { startTelemetry, traced } from './telemetry';

/**
 * A thin, project-owned wrapper around `app.storageQueue` / `app.http`. The Functions host only sees the `app.*`
 * calls; the wrapper also records each registration so the local runner (dev/runner) can serve the same functions
 * on machines without Core Tools, without relying on host internals.
 */
export type FunctionRegistration =
  | { kind: 'storageQueue'; name: string; options: StorageQueueFunctionOptions }
  | { kind: 'http'; name: string; options: HttpFunctionOptions };

/**
 * `admin`, as the first segment of a route template the Functions host accepts: it refuses every route that starts
 * with `admin` or `runtime` (its own built-in routes), whatever the route prefix, so the first segment is a
 * parameter that matches only "admin" (azure-functions-host#1781).
 */
export const ADMIN_AREA = '{area:regex(^admin$)}';
/** `admin/tenants`, served at `/api/admin/tenants`. */
export const ADMIN_ROUTE = `${ADMIN_AREA}/tenants`;
/** `admin/machines`, served at `/api/admin/machines`. */
export const ADMIN_MACHINES_ROUTE = `${ADMIN_AREA}/machines`;

const registrations = new Map<string, FunctionRegistration>();

function remember(registration: FunctionRegistration): void {
  if (registrations.has(registration.name)) {
    throw new TypeError(`A function named "${registration.name}" is already registered.`);
  }
  registrations.set(registration.name, registration);
}

// Every handler runs in its invocation's span (shared/functionsHost/telemetry.ts), under the host and the runner.
export function registerStorageQueueFunction(name: string, options: StorageQueueFunctionOptions): void {
  startTelemetry();
  const wrapped = { ...options, handler: traced('queue', options.handler) };
  remember({ kind: 'storageQueue', name, options: wrapped });
  app.storageQueue(name, wrapped);
}

export function registerHttpFunction(name: string, options: HttpFunctionOptions): void {
  startTelemetry();
  const wrapped = { ...options, handler: traced('http', options.handler) };
  remember({ kind: 'http', name, options: wrapped });
  app.http(name, wrapped);
}

/** Every function registered so far in this process, in registration order. */
export function listFunctionRegistrations(): readonly FunctionRegistration[] {
  return [...registrations.values()];
}
