import { canonicalizeKeys } from './canonicalKeys';
import { NcError, newEtag, newGuid } from './http';
import { ACCESS_CONTROL_LISTS, formatRef, parseRef } from './refs';
import type { ResourceStore } from './store';
import { isObject, type JsonObject, type ProvisioningState, type Resource } from './types';

function provisioningStateOf(properties: JsonObject): ProvisioningState {
  const state = properties.provisioningState;
  return state === 'Updating' || state === 'Failed' || state === 'Deleting' ? state : 'Succeeded';
}

/**
 * Stores a resource exactly as given, bypassing validation, so tests can build states the API would refuse
 * (two NICs on one IP, dangling refs). Only missing envelope fields are filled in.
 */
export function insertRaw(store: ResourceStore, resourceRef: string, input: JsonObject): Resource {
  const parsed = parseRef(resourceRef);
  if (parsed === undefined || parsed.childId !== undefined) {
    throw new NcError(400, 'InvalidResourceReference', `'${resourceRef}' is not a top-level resource reference.`);
  }
  const { collection, id } = parsed;
  const body = canonicalizeKeys(input) as JsonObject;
  const ref = formatRef(collection, id);
  const etag = typeof body.etag === 'string' ? body.etag : newEtag();
  const { provisioningState: _state, ...properties } = isObject(body.properties) ? body.properties : {};
  // Back-references are derived from the NICs on every read, so stored copies would only go stale.
  if (collection === ACCESS_CONTROL_LISTS) {
    delete properties.ipConfigurations;
    delete properties.subnets;
  }
  const listed = properties[collection.child];
  const rawChildren: unknown[] = Array.isArray(listed) ? listed : [];
  properties[collection.child] = rawChildren.map((child, index) => {
    if (!isObject(child) || typeof child.resourceId !== 'string' || child.resourceId === '') {
      throw new NcError(400, 'InvalidRequestFormat', `${ref}: ${collection.child}[${index}] needs a resourceId.`);
    }
    const { provisioningState: _childState, ...childProperties } = isObject(child.properties) ? child.properties : {};
    if (collection.child === 'subnets') delete childProperties.ipConfigurations;
    return {
      ...child,
      resourceRef: formatRef(collection, id, child.resourceId),
      resourceId: child.resourceId,
      etag,
      instanceId: typeof child.instanceId === 'string' ? child.instanceId : newGuid(),
      properties: {
        provisioningState: provisioningStateOf(isObject(child.properties) ? child.properties : {}),
        ...childProperties,
      },
    };
  });
  const resource: Resource = {
    ...body,
    resourceRef: ref,
    resourceId: id,
    etag,
    instanceId: typeof body.instanceId === 'string' ? body.instanceId : newGuid(),
    properties: {
      provisioningState: provisioningStateOf(isObject(body.properties) ? body.properties : {}),
      ...properties,
    },
  };
  store.put(collection, resource);
  return resource;
}
