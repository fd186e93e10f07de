import { z } from 'zod';

import type { ArmState } from './ArmState';
import { faultRuleSchema } from './faults';
import { ArmHttpError, type JsonResponse, parseJsonBody } from './http';
import { ARM_SEED, containerHost, hyperVHost } from './seed';
import { CONTAINER_NAME_PATTERN, DockerApiError } from './SimulatedDocker';
import { DEFAULT_OUTPUT_TAIL_BYTES, type SimulatedWindowsMachine } from './SimulatedWindowsMachine';

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
  /** What `docker version --format {{.Server.Version}}` answers, e.g. an engine too old for the scripts. */
  dockerEngineVersion: z.string().min(1).max(64).optional(),
  /** Lines the docker CLI prints on stderr with every command (e.g. a config.json warning); `null` clears them. */
  dockerCliWarnings: z.array(z.string().min(1).max(500)).max(10).nullable().optional(),
  outputTailBytes: z.int().positive().nullable().optional(),
  services: z.record(z.string(), z.enum(['Running', 'Stopped'])).optional(),
  /** Replaces the machine's firewall rules, e.g. with a hoster's Block rule for step 2 to refuse. */
  firewallRules: z
    .array(
      z.strictObject({
        displayName: z.string().min(1).max(256),
        direction: z.enum(['Inbound', 'Outbound']),
        action: z.enum(['Allow', 'Block']),
        protocol: z.enum(['TCP', 'UDP', 'Any']),
        localPort: z.string().regex(/^(Any|\d{1,5}(-\d{1,5})?)(,(\d{1,5}(-\d{1,5})?))*$/),
        enabled: z.boolean(),
        profile: z.enum(['Any', 'Domain', 'Private', 'Public']),
      }),
    )
    .max(100)
    .optional(),
  persistentNetworks: z.boolean().nullable().optional(),
  /** Who may write the hns Parameters key (see `HnsKeyAcl`). */
  hnsKeyAcl: z.enum(['open', 'locked', 'denied']).optional(),
  /** Puts files on the machine (true) or takes them away (false), e.g. the plugin DLL. */
  files: z.record(z.string().regex(/^[A-Za-z]:\\/, 'must be an absolute Windows path'), z.boolean()).optional(),
  /** On a Hyper-V host: a hosted VM's state, and whether its guest answers PowerShell Direct. */
  hostedVms: z
    .record(
      z.string(),
      z.strictObject({
        state: z.enum(['Running', 'Off']).optional(),
        powerShellDirect: z.boolean().optional(),
        /** The guest account the VM accepts from now on. */
        account: z.strictObject({ userName: z.string().min(1), password: z.string().min(1) }).optional(),
      }),
    )
    .optional(),
  /** Restarts the machine after the other switches in the same body are set. */
  reboot: z.literal(true).optional(),
});

const containerNameSchema = z
  .string()
  .max(128)
  .regex(
    CONTAINER_NAME_PATTERN,
    'must be a Docker container name: a letter or digit, then letters, digits, "_", "." or "-"',
  );

/** `PUT /_emulator/machines/{name}/containers/{container}`: the networks (name, id or id prefix) it is connected to. */
const containerBodySchema = z.strictObject({
  networks: z
    .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a Docker network name, id or id prefix'))
    .max(16),
});

/** HybridCompute machine names: letters, digits, "_", "-" and ".", starting with a letter or digit. */
const ARC_MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** ARM resource group names: letters, digits, "_", "-", ".", "(" and ")", not ending in ".". */
const RESOURCE_GROUP_NAME = /^[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]$/;
const SUBSCRIPTION_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Enough for a hoster's fleet in one benchmark run (thousands of VMs), bounded so one body cannot exhaust memory. */
const MAX_MACHINES_PER_REQUEST = 5_000;

/**
 * `POST /_emulator/machines`: Arc-enabled machines onboarded at run time, each set up like its seeded counterpart (a
 * Hyper-V host like HV01, a container host VM like ContainerHostVM1), Connected.
 */
const addMachinesSchema = z.strictObject({
  machines: z
    .array(
      z.strictObject({
        name: z.string().regex(ARC_MACHINE_NAME, 'must be an Arc machine name (letters, digits, "_", "-", ".")'),
        role: z.enum(['HyperVHost', 'ContainerHostVm']),
        resourceGroup: z.string().regex(RESOURCE_GROUP_NAME, 'must be a resource group name').optional(),
        subscriptionId: z.string().regex(SUBSCRIPTION_ID, 'must be a subscription GUID').optional(),
      }),
    )
    .min(1)
    .max(MAX_MACHINES_PER_REQUEST),
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
    .map(decodeSegment);
  const [resource, id, extra, extraId, ...rest] = segments;

  if (resource === 'reset' && id === undefined && method === 'POST') {
    state.reset();
    return { status: 204 };
  }
  if (resource === 'machines' && extra === undefined) return machines(state, method, id, bodyText);
  if (
    resource === 'machines' &&
    id !== undefined &&
    extra === 'containers' &&
    extraId !== undefined &&
    rest.length === 0
  ) {
    return containers(state, method, id, extraId, bodyText);
  }
  if (resource === 'faults' && extra === undefined) return faults(state, method, id, bodyText);
  throw new ArmHttpError(404, 'NotFound', `No emulator route for ${method} ${path}.`);
}

function machines(state: ArmState, method: string, name: string | undefined, bodyText: string): JsonResponse {
  if (name === undefined) {
    if (method === 'POST') return addMachines(state, bodyText);
    if (method !== 'GET') throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
    return { status: 200, body: { value: state.machines().map(({ machine }) => state.snapshot(machine)) } };
  }
  const machine = requireMachine(state, name);
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
    if (switches.dockerEngineVersion !== undefined || switches.dockerCliWarnings !== undefined) {
      if (machine.docker === undefined)
        throw new ArmHttpError(400, 'NoDocker', `${machine.name} has no Docker engine.`);
      if (switches.dockerEngineVersion !== undefined) machine.docker.engineVersion = switches.dockerEngineVersion;
      if (switches.dockerCliWarnings !== undefined)
        machine.docker.cliWarnings = [...(switches.dockerCliWarnings ?? [])];
    }
    if (switches.outputTailBytes !== undefined)
      machine.outputTailBytes = switches.outputTailBytes ?? DEFAULT_OUTPUT_TAIL_BYTES;
    for (const [service, status] of Object.entries(switches.services ?? {})) {
      if (machine.service(service) === undefined)
        throw new ArmHttpError(400, 'NoSuchService', `${machine.name} has no service '${service}'.`);
      machine.setServiceStatus(service, status);
    }
    if (switches.firewallRules !== undefined)
      machine.firewallRules.splice(0, machine.firewallRules.length, ...switches.firewallRules);
    if (switches.persistentNetworks !== undefined) machine.persistentNetworks = switches.persistentNetworks ?? false;
    if (switches.hnsKeyAcl !== undefined) machine.hnsKeyAcl = switches.hnsKeyAcl;
    for (const [file, present] of Object.entries(switches.files ?? {})) machine.setFile(file, present);
    for (const [vmName, change] of Object.entries(switches.hostedVms ?? {})) {
      const vm = machine.hostedVms.get(vmName.toLowerCase());
      if (vm === undefined) throw new ArmHttpError(400, 'NoSuchVm', `${machine.name} runs no VM '${vmName}'.`);
      if (change.state !== undefined) vm.state = change.state;
      if (change.powerShellDirect !== undefined) vm.powerShellDirect = change.powerShellDirect;
      if (change.account !== undefined) vm.account = { ...change.account };
    }
    if (switches.reboot) machine.reboot();
  } else if (method !== 'GET') {
    throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
  }
  return { status: 200, body: state.snapshot(machine) };
}

/**
 * Adds every machine in the body or none: a name already taken (machine names are unique across resource groups
 * here, because the inspection routes name machines without their group) or repeated in the body is a 409.
 */
function addMachines(state: ArmState, bodyText: string): JsonResponse {
  const parsed = addMachinesSchema.safeParse(parseJsonBody(bodyText));
  if (!parsed.success) invalid(parsed.error);
  const seen = new Set<string>();
  for (const { name } of parsed.data.machines) {
    const key = name.toLowerCase();
    if (seen.has(key) || state.findMachineByName(name) !== undefined)
      throw new ArmHttpError(409, 'Conflict', `A machine named '${name}' already exists.`);
    seen.add(key);
  }
  const added = parsed.data.machines.map((spec) => {
    const index = state.nextMachineIndex();
    const machine =
      spec.role === 'HyperVHost' ? hyperVHost(spec.name, index, 'Connected') : containerHost(spec.name, index);
    const subscriptionId = spec.subscriptionId ?? ARM_SEED.subscriptionId;
    const resourceGroup = spec.resourceGroup ?? ARM_SEED.resourceGroup;
    state.addMachine({ subscriptionId, resourceGroup, machine });
    return { name: machine.name, role: machine.role, subscriptionId, resourceGroup, vmId: machine.vmId };
  });
  return { status: 201, body: { value: added } };
}

/** A connected container on a machine's Docker: PUT sets its networks (201 new, 200 replaced), GET, DELETE. */
function containers(
  state: ArmState,
  method: string,
  machineName: string,
  containerName: string,
  bodyText: string,
): JsonResponse {
  const docker = requireMachine(state, machineName).docker;
  const name = containerNameSchema.safeParse(containerName);
  if (!name.success) throw new ArmHttpError(400, 'InvalidContainerName', z.prettifyError(name.error));
  if (docker === undefined) throw new ArmHttpError(400, 'NoDocker', `${machineName} has no Docker engine.`);
  switch (method) {
    case 'GET': {
      const container = docker.container(name.data);
      if (container === undefined) throw new ArmHttpError(404, 'NotFound', `No container '${name.data}'.`);
      return { status: 200, body: container };
    }
    case 'PUT': {
      const parsed = containerBodySchema.safeParse(parseJsonBody(bodyText));
      if (!parsed.success) invalid(parsed.error);
      try {
        const { container, created } = docker.connectContainer(name.data, parsed.data.networks);
        return { status: created ? 201 : 200, body: container };
      } catch (error) {
        if (!(error instanceof DockerApiError)) throw error;
        // The body names a network the machine does not have (404) or more than one (400): a bad request here.
        const code = error.statusCode === 404 ? 'NoSuchNetwork' : 'InvalidNetwork';
        throw new ArmHttpError(400, code, error.message);
      }
    }
    case 'DELETE':
      if (!docker.removeContainer(name.data)) throw new ArmHttpError(404, 'NotFound', `No container '${name.data}'.`);
      return { status: 204 };
    default:
      throw new ArmHttpError(405, 'MethodNotAllowed', `${method} is not allowed here.`);
  }
}

function requireMachine(state: ArmState, name: string): SimulatedWindowsMachine {
  const entry = state.findMachineByName(name);
  if (!entry) throw new ArmHttpError(404, 'ResourceNotFound', `No simulated machine named '${name}'.`);
  return entry.machine;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ArmHttpError(400, 'InvalidRequestUri', 'The request path is not correctly percent-encoded.');
  }
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
