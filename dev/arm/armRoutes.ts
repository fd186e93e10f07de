import { z } from 'zod';

import type { ArmState, MachineEntry } from './ArmState';
import { ArmHttpError, type JsonResponse, parseJsonBody } from './http';
import { machineResource, runCommandResource } from './resources';
import type { RunCommandRequest } from './SimulatedRunCommand';

/** Stable and preview api-versions of Microsoft.HybridCompute that have run commands. */
export const RUN_COMMAND_API_VERSIONS = [
  '2023-10-03-preview',
  '2024-05-20-preview',
  '2024-07-31-preview',
  '2024-09-10-preview',
  '2024-11-10-preview',
  '2025-01-13',
  '2026-07-15',
  '2026-09-01',
] as const;

/** Machines exist in older versions too (2024-07-10 is stable without run commands). */
const MACHINE_API_VERSIONS = ['2021-05-20', '2022-12-27', '2024-07-10', ...RUN_COMMAND_API_VERSIONS];

const NAME_PATTERN = /^[a-zA-Z0-9-_.]+$/;

const MACHINE_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.HybridCompute\/machines\/([^/]+)(\/runCommands(?:\/([^/]+))?)?\/?$/i;
const OPERATION_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.HybridCompute\/locations\/([^/]+)\/(operationStatuses|operationResults)\/([^/]+)\/?$/i;

const parameterSchema = z.strictObject({ name: z.string().min(1), value: z.string() });

const putBodySchema = z.object({
  location: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  properties: z
    .object({
      source: z
        .object({ script: z.string().optional(), scriptUri: z.string().optional(), commandId: z.string().optional() })
        .optional(),
      parameters: z.array(parameterSchema).optional(),
      protectedParameters: z.array(parameterSchema).optional(),
      asyncExecution: z.boolean().optional(),
      runAsUser: z.string().optional(),
      runAsPassword: z.string().optional(),
      timeoutInSeconds: z.int().min(0).optional(),
    })
    .optional(),
});

export interface ArmRequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  bodyText: string;
  origin: string;
}

function decode(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    throw new ArmHttpError(400, 'InvalidRequestUri', 'The request path is not correctly percent-encoded.');
  }
}

function requireApiVersion(query: URLSearchParams, supported: readonly string[]): void {
  const apiVersion = query.get('api-version');
  if (apiVersion === null || apiVersion === '') {
    throw new ArmHttpError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (!supported.includes(apiVersion)) {
    throw new ArmHttpError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`,
    );
  }
}

function methodNotAllowed(method: string): never {
  throw new ArmHttpError(405, 'MethodNotAllowed', `The requested method '${method}' is not allowed on this resource.`);
}

/** Routes one ARM request (faults already applied) to the machine, run command or operation handlers. */
export function routeArm(state: ArmState, context: ArmRequestContext): JsonResponse {
  const operation = OPERATION_PATH.exec(context.path);
  if (operation) {
    if (context.method !== 'GET') methodNotAllowed(context.method);
    return getOperation(state, context, decode(operation[4]), operation[3]?.toLowerCase() === 'operationresults');
  }
  const match = MACHINE_PATH.exec(context.path);
  if (!match) throw new ArmHttpError(404, 'InvalidResourceType', `No route for ${context.method} ${context.path}.`);
  const [subscriptionId, resourceGroup, machineName] = [decode(match[1]), decode(match[2]), decode(match[3])];
  const isRunCommands = match[4] !== undefined;
  const runName = match[5] === undefined ? undefined : decode(match[5]);

  requireApiVersion(context.query, isRunCommands ? RUN_COMMAND_API_VERSIONS : MACHINE_API_VERSIONS);
  const entry = findMachine(state, subscriptionId, resourceGroup, machineName, isRunCommands);

  if (!isRunCommands) {
    if (context.method !== 'GET') methodNotAllowed(context.method);
    return { status: 200, body: machineResource(entry) };
  }
  if (runName === undefined) {
    if (context.method !== 'GET') methodNotAllowed(context.method);
    const expand = context.query.get('$expand')?.toLowerCase() === 'instanceview';
    return { status: 200, body: { value: state.runsOf(entry.machine).map((run) => runCommandResource(run, expand)) } };
  }
  if (!NAME_PATTERN.test(runName)) {
    throw new ArmHttpError(
      400,
      'InvalidResourceName',
      `The resource name '${runName}' must match ${NAME_PATTERN.source}.`,
    );
  }
  switch (context.method) {
    case 'GET':
      return getRunCommand(state, entry, runName);
    case 'PUT':
      return putRunCommand(state, entry, runName, context);
    case 'DELETE':
      return deleteRunCommand(state, entry, runName, context.origin);
    default:
      return methodNotAllowed(context.method);
  }
}

function findMachine(
  state: ArmState,
  subscriptionId: string,
  resourceGroup: string,
  name: string,
  child: boolean,
): MachineEntry {
  if (!state.hasSubscription(subscriptionId)) {
    throw new ArmHttpError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
  }
  if (!state.hasResourceGroup(subscriptionId, resourceGroup)) {
    throw new ArmHttpError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`);
  }
  const entry = state.findMachine(subscriptionId, resourceGroup, name);
  if (entry) return entry;
  const what = `Microsoft.HybridCompute/machines/${name}`;
  throw child
    ? new ArmHttpError(
        404,
        'ParentResourceNotFound',
        `Failed to perform the operation: parent resource '${name}' not found.`,
      )
    : new ArmHttpError(
        404,
        'ResourceNotFound',
        `The Resource '${what}' under resource group '${resourceGroup}' was not found.`,
      );
}

function getRunCommand(state: ArmState, entry: MachineEntry, name: string): JsonResponse {
  const run = state.getRun(entry, name);
  if (!run) {
    throw new ArmHttpError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.HybridCompute/machines/${entry.machine.name}/runCommands/${name}' under resource group '${entry.resourceGroup}' was not found.`,
    );
  }
  return { status: 200, body: runCommandResource(run) };
}

function validatePutBody(body: unknown, entry: MachineEntry): RunCommandRequest {
  const parsed = putBodySchema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new ArmHttpError(
      400,
      'InvalidRequestContent',
      `The request content was invalid: ${z.prettifyError(parsed.error)}`,
    );
  }
  const { location, tags, properties = {} } = parsed.data;
  if (location === undefined || location.trim() === '') {
    throw new ArmHttpError(
      400,
      'LocationRequired',
      'The location property is required for this definition.',
      'location',
    );
  }
  const normalize = (value: string) => value.replace(/\s+/g, '').toLowerCase();
  if (normalize(location) !== normalize(entry.machine.location)) {
    throw new ArmHttpError(
      400,
      'InvalidResourceLocation',
      `The run command location '${location}' must be the machine's location '${entry.machine.location}'.`,
      'location',
    );
  }
  const source = properties.source ?? {};
  const given = (['script', 'scriptUri', 'commandId'] as const).filter((field) => source[field] !== undefined);
  if (given.length !== 1) {
    throw new ArmHttpError(
      400,
      'InvalidParameter',
      `Exactly one of script, scriptUri or commandId must be given in properties.source; got ${given.length === 0 ? 'none' : given.join(', ')}.`,
      'properties.source',
    );
  }
  return {
    location,
    ...(tags === undefined ? {} : { tags }),
    source: { [given[0]!]: source[given[0]!] },
    parameters: properties.parameters ?? [],
    protectedParameters: properties.protectedParameters ?? [],
    asyncExecution: properties.asyncExecution ?? false,
    timeoutInSeconds: properties.timeoutInSeconds ?? 0,
    ...(properties.runAsUser === undefined ? {} : { runAsUser: properties.runAsUser }),
  };
}

function putRunCommand(state: ArmState, entry: MachineEntry, name: string, context: ArmRequestContext): JsonResponse {
  const request = validatePutBody(parseJsonBody(context.bodyText), entry);
  const { entry: run, created, operationId } = state.putRun(entry, name, request);
  state.advance(entry.machine);
  const operationBase = `${context.origin}/subscriptions/${entry.subscriptionId}/providers/Microsoft.HybridCompute/locations/${entry.machine.location}`;
  const apiVersion = context.query.get('api-version') ?? '';
  return {
    status: created ? 201 : 200,
    headers: {
      'Azure-AsyncOperation': `${operationBase}/operationStatuses/${operationId}?api-version=${apiVersion}`,
      Location: `${operationBase}/operationResults/${operationId}?api-version=${apiVersion}`,
      'Retry-After': String(Math.max(1, Math.ceil(state.runDurationInMs / 1000))),
    },
    body: runCommandResource(run),
  };
}

function deleteRunCommand(state: ArmState, entry: MachineEntry, name: string, origin: string): JsonResponse {
  const removed = state.deleteRun(entry, name);
  if (!removed) return { status: 204 };
  if (removed.run.finished) return { status: 200 };
  // Deleting a running command stops it; ARM answers asynchronously.
  const operationId = `delete-${removed.run.generation}-${Date.now()}`;
  return {
    status: 202,
    headers: {
      Location: `${origin}/subscriptions/${entry.subscriptionId}/providers/Microsoft.HybridCompute/locations/${entry.machine.location}/operationResults/${operationId}`,
      'Retry-After': '1',
    },
  };
}

function getOperation(state: ArmState, context: ArmRequestContext, id: string, isResult: boolean): JsonResponse {
  if (id.startsWith('delete-'))
    return { status: isResult ? 204 : 200, body: isResult ? undefined : { name: id, status: 'Succeeded' } };
  const operation = state.operation(id);
  if (!operation) throw new ArmHttpError(404, 'OperationNotFound', `The operation '${id}' was not found.`);
  const run = operation.entry?.run;
  const status = operation.superseded
    ? 'Canceled'
    : run?.provisioningState === 'Succeeded'
      ? 'Succeeded'
      : run?.provisioningState === 'Failed'
        ? 'Failed'
        : 'InProgress';
  if (isResult) {
    if (status === 'InProgress')
      return { status: 202, headers: { Location: `${context.origin}${context.path}`, 'Retry-After': '1' } };
    return operation.entry ? { status: 200, body: runCommandResource(operation.entry) } : { status: 204 };
  }
  return {
    status: 200,
    body: {
      id: context.path,
      name: id,
      status,
      startTime: operation.startTime,
      ...(status === 'InProgress' ? {} : { endTime: run?.endTime ?? new Date().toISOString() }),
      ...(status === 'Failed' ? { error: { code: 'RunCommandFailed', message: run?.executionMessage ?? '' } } : {}),
    },
  };
}
