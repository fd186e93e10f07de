import { z } from 'zod';

import { faultRuleSchema } from './faults';
import { type ApiResponse, NcError, notFound } from './http';
import { findIpConfiguration, loadBalancerReferencesSchema, setLoadBalancerReferences } from './loadBalancerReferences';
import { insertRaw } from './raw';
import type { RequestLog } from './requestLog';
import type { EmulatorState } from './state';

/** What the /_emulator routes may touch besides the API state. */
export interface AdminContext {
  state: EmulatorState;
  requestLog: RequestLog;
  reset(seed: boolean): void;
}

const resetSchema = z.object({ seed: z.boolean().optional() });
const resourcesSchema = z.object({
  resources: z.array(z.object({ resourceRef: z.string().min(1), body: z.record(z.string(), z.unknown()) })),
});
const settingsSchema = z.object({
  provisioningDelayInMs: z.number().int().min(0).max(3_600_000).optional(),
  validationStatus: z.union([z.literal(400), z.literal(500)]).optional(),
  cancelInProgressOnPut: z.boolean().optional(),
});

function parseBody<T>(schema: z.ZodType<T>, body: Buffer, emptyAllowed: boolean): T {
  const text = body.toString('utf8').trim();
  let json: unknown = {};
  if (text !== '' || !emptyAllowed) {
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new NcError(400, 'InvalidJson', `The request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new NcError(400, 'InvalidRequestFormat', z.prettifyError(parsed.error));
  return parsed.data;
}

function unsupported(method: string, path: string): NcError {
  return new NcError(405, 'MethodNotAllowed', `${method} ${path} is not an emulator control route.`);
}

/** `networkInterfaces/{nic}/ipConfigurations/{ipc}/loadBalancerReferences`: what a load balancer points at. */
function routeNetworkInterfaces(state: EmulatorState, method: string, segments: string[], body: Buffer): ApiResponse {
  const path = '/_emulator/' + segments.join('/');
  const [, nicId, child, ipcId, leaf, ...rest] = segments;
  if (
    nicId === undefined ||
    child?.toLowerCase() !== 'ipconfigurations' ||
    ipcId === undefined ||
    leaf?.toLowerCase() !== 'loadbalancerreferences' ||
    rest.length > 0
  ) {
    throw notFound(path);
  }
  if (method !== 'PUT') throw unsupported(method, path);
  // The target is looked up before the body is read, so an unknown NIC or ipConfiguration is a 404 whatever was sent.
  const ipc = findIpConfiguration(state.store, nicId, ipcId);
  return { status: 200, body: setLoadBalancerReferences(ipc, parseBody(loadBalancerReferencesSchema, body, false)) };
}

/** Test and benchmark controls under /_emulator; not part of the NC API. */
export function routeAdmin(context: AdminContext, method: string, segments: string[], body: Buffer): ApiResponse {
  const { state } = context;
  const [route, id, ...rest] = segments.map((s) => s.toLowerCase());
  const path = '/_emulator/' + segments.join('/');
  if (route === 'networkinterfaces') return routeNetworkInterfaces(state, method, segments, body);
  if (rest.length > 0) throw notFound(path);
  switch (`${method} ${route ?? ''}${id === undefined ? '' : '/:id'}`) {
    case 'POST reset':
      context.reset(parseBody(resetSchema, body, true).seed ?? true);
      return { status: 204 };
    case 'POST resources': {
      const { resources } = parseBody(resourcesSchema, body, false);
      for (const item of resources) insertRaw(state.store, item.resourceRef, item.body);
      return { status: 200, body: { count: resources.length } };
    }
    case 'GET faults':
      return { status: 200, body: state.faults.list() };
    case 'POST faults':
      return { status: 201, body: { id: state.faults.add(parseBody(faultRuleSchema, body, false)) } };
    case 'DELETE faults':
      state.faults.clear();
      return { status: 204 };
    case 'DELETE faults/:id':
      if (!state.faults.remove(segments[1] ?? '')) throw notFound(path);
      return { status: 204 };
    case 'GET requests':
      return { status: 200, body: context.requestLog.list() };
    case 'DELETE requests':
      context.requestLog.clear();
      return { status: 204 };
    case 'GET settings':
      return { status: 200, body: state.settings };
    case 'PUT settings': {
      const patch = parseBody(settingsSchema, body, false);
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) Object.assign(state.settings, { [key]: value });
      }
      return { status: 200, body: state.settings };
    }
    default:
      if (route === undefined || !['reset', 'resources', 'faults', 'requests', 'settings'].includes(route))
        throw notFound(path);
      throw unsupported(method, path);
  }
}
