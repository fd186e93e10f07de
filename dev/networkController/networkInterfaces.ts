import type { FaultRule } from './faults';
import { type ApiResponse, headerValue, NcError, newEtag, newGuid, parseEtagList } from './http';
import { refuseRemovalOfReferenced } from './loadBalancerReferences';
import type { Operation } from './operations';
import { formatRef, NETWORK_INTERFACES, refKey } from './refs';
import { type ApiRequest, type EmulatorState, operationResultUrl, operationUrl } from './state';
import type { IpConfiguration, JsonObject, NetworkInterface, ProvisioningState } from './types';
import { type DesiredNic, NicValidationError, validateNicPut } from './validation';

function readJson(request: ApiRequest): unknown {
  const contentType = headerValue(request.headers, 'content-type') ?? '';
  // Spec §2.2.1.1: anything but JSON is an InternalServerError, not a 415.
  if (!/^application\/json\s*(;|$)/i.test(contentType.trim())) {
    throw new NcError(
      500,
      'InternalServerError',
      `Content-Type '${contentType}' is not supported; send application/json.`,
    );
  }
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    throw new NcError(400, 'InvalidJson', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Throws 409 AnotherOperationInProgress when an operation holds the NIC's tree, unless this PUT may cancel it; then
 * it returns that operation, for the caller to cancel once its own write is known to be accepted (a refused PUT
 * must leave everything as it was).
 */
function checkNotLocked(state: EmulatorState, nicRef: string, mayCancel: boolean): Operation | undefined {
  const running = state.operations.runningOn(refKey(nicRef));
  if (running === undefined) return undefined;
  if (mayCancel && state.settings.cancelInProgressOnPut && running.kind === 'put') return running;
  throw new NcError(
    409,
    'AnotherOperationInProgress',
    `Another operation is in progress on '${nicRef}': ${operationUrl(state, running.id)}`,
  );
}

function cancelSuperseded(state: EmulatorState, running: Operation | undefined): void {
  if (running === undefined) return;
  state.operations.finish(running, 'Canceled', {
    code: 'Canceled',
    message: 'The operation was canceled by a newer PUT.',
  });
}

/** Spec §1.3.1.1's table; etags are compared as exact strings, weak prefix included. */
function checkPreconditions(request: ApiRequest, currentEtag: string | undefined, ref: string): void {
  const ifMatch = parseEtagList(headerValue(request.headers, 'if-match'));
  if (ifMatch !== undefined) {
    if (currentEtag === undefined) {
      throw new NcError(412, 'PreconditionFailed', `If-Match was given but '${ref}' does not exist.`);
    }
    if (!ifMatch.includes('*') && !ifMatch.includes(currentEtag)) {
      throw new NcError(412, 'PreconditionFailed', `The etag in If-Match does not match the current etag of '${ref}'.`);
    }
  }
  const ifNoneMatch = parseEtagList(headerValue(request.headers, 'if-none-match'));
  if (
    ifNoneMatch !== undefined &&
    currentEtag !== undefined &&
    (ifNoneMatch.includes('*') || ifNoneMatch.includes(currentEtag))
  ) {
    throw new NcError(412, 'PreconditionFailed', `If-None-Match was given but '${ref}' already exists.`);
  }
}

function validate(
  state: EmulatorState,
  body: unknown,
  nicId: string,
  existing: NetworkInterface | undefined,
): DesiredNic {
  try {
    return validateNicPut(body, nicId, existing, state.store);
  } catch (error) {
    if (error instanceof NicValidationError) {
      throw new NcError(state.settings.validationStatus, error.code, error.message, error.target);
    }
    throw error;
  }
}

function setTreeState(nic: NetworkInterface, provisioningState: ProvisioningState): void {
  nic.properties.provisioningState = provisioningState;
  for (const ipc of nic.properties.ipConfigurations) ipc.properties.provisioningState = provisioningState;
}

function buildNic(
  desired: DesiredNic,
  existing: NetworkInterface | undefined,
  nicId: string,
  etag: string,
): NetworkInterface {
  const resourceId = existing?.resourceId ?? nicId;
  const resourceRef = formatRef(NETWORK_INTERFACES, resourceId);
  const instanceId = existing?.instanceId ?? newGuid();
  const previous = new Map(
    (existing?.properties.ipConfigurations ?? []).map((ipc) => [ipc.resourceId.toLowerCase(), ipc]),
  );
  const ipConfigurations = desired.ipConfigurations.map((ipc): IpConfiguration => ({
    resourceRef: formatRef(NETWORK_INTERFACES, resourceId, ipc.resourceId),
    resourceId: ipc.resourceId,
    etag,
    instanceId: previous.get(ipc.resourceId.toLowerCase())?.instanceId ?? newGuid(),
    ...(ipc.tags === undefined ? {} : { tags: ipc.tags }),
    ...(ipc.resourceMetadata === undefined ? {} : { resourceMetadata: ipc.resourceMetadata }),
    properties: { provisioningState: 'Updating', ...ipc.properties },
  }));
  return {
    resourceRef,
    resourceId,
    etag,
    instanceId,
    ...(desired.tags === undefined ? {} : { tags: desired.tags }),
    ...(desired.resourceMetadata === undefined ? {} : { resourceMetadata: desired.resourceMetadata }),
    properties: {
      provisioningState: 'Updating',
      ...desired.properties,
      // Read-only: the host the NIC is placed on is the controller's to say, whatever the PUT carried.
      ...(existing?.properties.server === undefined ? {} : { server: existing.properties.server }),
      ipConfigurations,
      configurationState: existing?.properties.configurationState ?? {
        status: 'Uninitialized',
        detailedInfo: [],
        lastUpdatedTime: new Date().toISOString(),
        id: instanceId,
      },
    },
  };
}

function settleWrite(state: EmulatorState, operation: Operation, nicId: string, fault: FaultRule | undefined): void {
  const nic = state.store.getNic(nicId);
  const outcome = fault?.operation;
  if (nic !== undefined) {
    setTreeState(nic, outcome === undefined ? 'Succeeded' : 'Failed');
    const reported =
      fault?.configurationState ??
      (outcome === undefined ? { status: 'Success' as const, detailedInfo: [] } : undefined);
    if (reported !== undefined) {
      nic.properties.configurationState = {
        ...reported,
        lastUpdatedTime: new Date().toISOString(),
        id: nic.instanceId,
      };
    }
  }
  state.operations.finish(operation, outcome?.status ?? 'Succeeded', outcome?.error);
}

function asyncHeaders(state: EmulatorState, operation: Operation, etag?: string): Record<string, string> {
  return {
    ...(etag === undefined ? {} : { ETag: etag }),
    'x-ms-request-id': operation.id,
    'Azure-AsyncOperation': operationUrl(state, operation.id),
  };
}

/** Stores the NIC as Updating and starts the operation that settles it. */
function accept(state: EmulatorState, request: ApiRequest, nic: NetworkInterface): Operation {
  state.store.put(NETWORK_INTERFACES, nic);
  return state.operations.start('put', refKey(nic.resourceRef), state.settings.provisioningDelayInMs, (operation) =>
    settleWrite(state, operation, nic.resourceId, request.fault),
  );
}

export function putNetworkInterface(state: EmulatorState, request: ApiRequest, nicId: string): ApiResponse {
  const body = readJson(request);
  const existing = state.store.getNic(nicId);
  const nicRef = formatRef(NETWORK_INTERFACES, existing?.resourceId ?? nicId);
  const superseded = checkNotLocked(state, nicRef, true);
  checkPreconditions(request, existing?.etag, nicRef);
  const desired = validate(state, body, nicId, existing);
  // Replace semantics: an ipConfiguration the body leaves out is removed, unless a load balancer still uses it.
  const kept = new Set(desired.ipConfigurations.map((ipc) => ipc.resourceId.toLowerCase()));
  refuseRemovalOfReferenced(
    (existing?.properties.ipConfigurations ?? []).filter((ipc) => !kept.has(ipc.resourceId.toLowerCase())),
    'properties.ipConfigurations',
  );
  cancelSuperseded(state, superseded);
  const nic = buildNic(desired, existing, nicId, newEtag());
  const operation = accept(state, request, nic);
  return { status: existing === undefined ? 201 : 200, headers: asyncHeaders(state, operation, nic.etag), body: nic };
}

/** A child PUT is a NIC PUT with one ipConfiguration added or replaced; the reply shows only the child. */
export function putIpConfiguration(
  state: EmulatorState,
  request: ApiRequest,
  nicId: string,
  ipcId: string,
): ApiResponse {
  const body = readJson(request);
  const nic = state.store.getNic(nicId);
  if (nic === undefined) {
    throw new NcError(
      400,
      'InvalidResourceReference',
      `The parent resource '/networkInterfaces/${nicId}' does not exist.`,
    );
  }
  checkNotLocked(state, nic.resourceRef, false);
  const index = nic.properties.ipConfigurations.findIndex(
    (ipc) => ipc.resourceId.toLowerCase() === ipcId.toLowerCase(),
  );
  const ipcRef = formatRef(NETWORK_INTERFACES, nic.resourceId, ipcId);
  checkPreconditions(request, index < 0 ? undefined : nic.etag, ipcRef);
  const child: JsonObject = typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body } : {};
  const childId = typeof child.resourceId === 'string' ? child.resourceId : ipcId;
  if (childId.toLowerCase() !== ipcId.toLowerCase()) {
    throw new NcError(
      state.settings.validationStatus,
      'InvalidRequestFormat',
      `resourceId '${childId}' in the body does not match '${ipcId}' in the URL.`,
      'resourceId',
    );
  }
  child.resourceId = index < 0 ? ipcId : (nic.properties.ipConfigurations[index]?.resourceId ?? ipcId);
  const ipConfigurations: unknown[] = [...nic.properties.ipConfigurations];
  if (index < 0) ipConfigurations.push(child);
  else ipConfigurations[index] = child;
  const desired = validate(state, { ...nic, properties: { ...nic.properties, ipConfigurations } }, nic.resourceId, nic);
  const updated = buildNic(desired, nic, nic.resourceId, newEtag());
  const operation = accept(state, request, updated);
  const written = updated.properties.ipConfigurations.find(
    (ipc) => ipc.resourceId.toLowerCase() === ipcId.toLowerCase(),
  );
  return { status: index < 0 ? 201 : 200, headers: asyncHeaders(state, operation, updated.etag), body: written };
}

function deleteAccepted(state: EmulatorState, operation: Operation): ApiResponse {
  const retryAfter = Math.max(1, Math.ceil(state.settings.provisioningDelayInMs / 1000));
  return {
    status: 202,
    headers: {
      ...asyncHeaders(state, operation),
      Location: operationResultUrl(state, operation.id),
      'Retry-After': String(retryAfter),
    },
  };
}

export function deleteNetworkInterface(state: EmulatorState, request: ApiRequest, nicId: string): ApiResponse {
  const nic = state.store.getNic(nicId);
  if (nic === undefined) return { status: 204 };
  checkNotLocked(state, nic.resourceRef, false);
  checkPreconditions(request, nic.etag, nic.resourceRef);
  refuseRemovalOfReferenced(nic.properties.ipConfigurations);
  setTreeState(nic, 'Deleting');
  const fault = request.fault;
  const operation = state.operations.start(
    'delete',
    refKey(nic.resourceRef),
    state.settings.provisioningDelayInMs,
    (op) => {
      const current = state.store.getNic(nicId);
      if (fault?.operation !== undefined) {
        if (current !== undefined) setTreeState(current, 'Failed');
        state.operations.finish(op, fault.operation.status, fault.operation.error);
        return;
      }
      state.store.remove(NETWORK_INTERFACES, nicId);
      state.operations.finish(op, 'Succeeded');
    },
  );
  return deleteAccepted(state, operation);
}

export function deleteIpConfiguration(
  state: EmulatorState,
  request: ApiRequest,
  nicId: string,
  ipcId: string,
): ApiResponse {
  const nic = state.store.getNic(nicId);
  const target = nic?.properties.ipConfigurations.find((ipc) => ipc.resourceId.toLowerCase() === ipcId.toLowerCase());
  if (nic === undefined || target === undefined) return { status: 204 };
  checkNotLocked(state, nic.resourceRef, false);
  checkPreconditions(request, nic.etag, target.resourceRef);
  refuseRemovalOfReferenced([target]);
  // Spec §1.3.2.6: the child goes Deleting and its parent Updating; the parent's new etag reaches every child.
  const etag = newEtag();
  nic.etag = etag;
  nic.properties.provisioningState = 'Updating';
  for (const ipc of nic.properties.ipConfigurations) ipc.etag = etag;
  target.properties.provisioningState = 'Deleting';
  const fault = request.fault;
  const operation = state.operations.start(
    'deleteChild',
    refKey(nic.resourceRef),
    state.settings.provisioningDelayInMs,
    (op) => {
      const current = state.store.getNic(nicId);
      if (current !== undefined && fault?.operation !== undefined) {
        current.properties.provisioningState = 'Failed';
        target.properties.provisioningState = 'Failed';
      } else if (current !== undefined) {
        const remaining = current.properties.ipConfigurations.filter((ipc) => ipc !== target);
        const next: NetworkInterface = {
          ...current,
          properties: { ...current.properties, provisioningState: 'Succeeded', ipConfigurations: remaining },
        };
        state.store.put(NETWORK_INTERFACES, next);
      }
      state.operations.finish(op, fault?.operation?.status ?? 'Succeeded', fault?.operation?.error);
    },
  );
  return deleteAccepted(state, operation);
}
