import { z } from 'zod';

import type { ArmState } from './ArmState';
import { faultRuleSchema } from './faults';
import { ArmHttpError, type JsonResponse, parseJsonBody } from './http';
import { DEFAULT_OUTPUT_TAIL_BYTES } from './SimulatedWindowsMachine';

/** Machine-level switches for `PUT /_emulator/machines/{name}`; `null` clears a switch. */
const machineSwitchesSchema = z.strictObject({
  status: z.enum(['Connected', 'Disconnected', 'Expired', 'Error']).optional(),
  agentVersion: z
    .string()
    .regex(/^\d+\.\d+(\.\d+)*$/)
    .optional(),
  extensionsBlockList: z.array(z.string()).optional(),
  runCommandOutcome: z
    .union([z.enum(['TimedOut', 'Failed', 'Canceled']), z.strictObject({ exitCode: z.int() })])
    .nullable()
    .optional(),
  hnsFailure: z.string().min(1).nullable().optional(),
  outputTailBytes: z.int().positive().nullable().optional(),
  services: z.record(z.string(), z.enum(['Running', 'Stopped'])).optional(),
});

function invalid(error: z.ZodError): never {
  throw new ArmHttpError(400, 'InvalidRequestContent', z.prettifyError(error));
}

/** The inspection and control routes under `/_emulator` that real ARM does not have. */
export function routeAdmin(state: ArmState, method: string, path: string, bodyText: string): JsonResponse {
  const segments = path
    .split('/')
    .filter((segment) => segment !== '')
    .slice(1)
    .map((segment) => decodeURIComponent(segment));
  const [resource, id, extra] = segments;

  if (resource === 'reset' && id === undefined && method === 'POST') {
    state.reset();
    return { status: 204 };
  }
  if (resource === 'machines' && extra === undefined) return machines(state, method, id, bodyText);
  if (resource === 'faults' && extra === undefined) return faults(state, method, id, bodyText);
  throw new ArmHttpError(404, 'NotFound', `No emulator route for ${method} ${path}.`);
}

function machines(state: ArmState, method: string, name: string | undefined, bodyText: string): JsonResponse {
  if (name === undefined) {
    if (method !== 'GET') throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
    return { status: 200, body: { value: state.machines().map(({ machine }) => state.snapshot(machine)) } };
  }
  const entry = state.findMachineByName(name);
  if (!entry) throw new ArmHttpError(404, 'ResourceNotFound', `No simulated machine named '${name}'.`);
  const { machine } = entry;
  if (method === 'PUT') {
    const parsed = machineSwitchesSchema.safeParse(parseJsonBody(bodyText) ?? {});
    if (!parsed.success) invalid(parsed.error);
    const switches = parsed.data;
    if (switches.status !== undefined) machine.status = switches.status;
    if (switches.agentVersion !== undefined) machine.agentVersion = switches.agentVersion;
    if (switches.extensionsBlockList !== undefined) machine.extensionsBlockList = [...switches.extensionsBlockList];
    if (switches.runCommandOutcome !== undefined) machine.runCommandOutcome = switches.runCommandOutcome ?? undefined;
    if (switches.hnsFailure !== undefined) {
      if (machine.docker === undefined)
        throw new ArmHttpError(400, 'NoDocker', `${machine.name} has no Docker engine.`);
      machine.hnsFailure = switches.hnsFailure ?? undefined;
    }
    if (switches.outputTailBytes !== undefined)
      machine.outputTailBytes = switches.outputTailBytes ?? DEFAULT_OUTPUT_TAIL_BYTES;
    for (const [service, status] of Object.entries(switches.services ?? {})) {
      if (machine.service(service) === undefined)
        throw new ArmHttpError(400, 'NoSuchService', `${machine.name} has no service '${service}'.`);
      machine.setServiceStatus(service, status);
    }
  } else if (method !== 'GET') {
    throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
  }
  return { status: 200, body: state.snapshot(machine) };
}

function faults(state: ArmState, method: string, id: string | undefined, bodyText: string): JsonResponse {
  if (id !== undefined) {
    if (method !== 'DELETE') throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
    return state.faults.remove(id)
      ? { status: 204 }
      : { status: 404, body: { error: { code: 'NotFound', message: `No fault ${id}.` } } };
  }
  switch (method) {
    case 'GET':
      return { status: 200, body: { value: state.faults.list() } };
    case 'DELETE':
      state.faults.clear();
      return { status: 204 };
    case 'POST': {
      const body = parseJsonBody(bodyText);
      const parsed = z.array(faultRuleSchema).safeParse(Array.isArray(body) ? body : [body]);
      if (!parsed.success) invalid(parsed.error);
      return { status: 201, body: { ids: parsed.data.map((rule) => state.faults.add(rule)) } };
    }
    default:
      throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
  }
}
