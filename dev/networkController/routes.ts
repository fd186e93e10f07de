import { type ApiResponse, NcError, notFound } from './http';
import {
  deleteIpConfiguration,
  deleteNetworkInterface,
  putIpConfiguration,
  putNetworkInterface,
} from './networkInterfaces';
import { type CollectionInfo, collectionInfo, formatRef, NETWORK_INTERFACES } from './refs';
import { type ApiRequest, type EmulatorState, operationResultUrl } from './state';
import { childrenOf } from './store';
import type { Resource } from './types';

function methodNotAllowed(method: string, allowed: string[]): NcError {
  return new NcError(405, 'MethodNotAllowed', `${method} is not supported on this resource.`, undefined, {
    Allow: allowed.join(', '),
  });
}

function single(resource: Resource): ApiResponse {
  return { status: 200, headers: { ETag: resource.etag }, body: resource };
}

function list(value: unknown[]): ApiResponse {
  // Shipping NC never pages (spec Appendix B <3>), so nextLink is always empty.
  return { status: 200, body: { value, nextLink: '' } };
}

function getOperation(state: EmulatorState, id: string): ApiResponse {
  const operation = state.operations.get(id);
  if (operation === undefined) throw notFound(`/operations/${id}`);
  const { status, error } = operation;
  return { status: 200, body: error === undefined ? { status } : { status, error: { ...error, details: [] } } };
}

function getOperationResult(state: EmulatorState, id: string): ApiResponse {
  const operation = state.operations.get(id);
  if (operation === undefined) throw notFound(`/operationResults/${id}`);
  if (operation.status === 'InProgress') {
    return { status: 202, headers: { Location: operationResultUrl(state, operation.id), 'Retry-After': '1' } };
  }
  if (operation.status === 'Succeeded') return { status: 204 };
  const error = operation.error ?? { code: operation.status, message: `The operation ended ${operation.status}.` };
  return { status: 500, body: { error: { ...error, details: [] } } };
}

function routeCollection(
  state: EmulatorState,
  request: ApiRequest,
  collection: CollectionInfo,
  rest: string[],
): ApiResponse {
  const { method } = request;
  const [id, childSegment, childId] = rest;
  const isNic = collection === NETWORK_INTERFACES;
  const writable = isNic ? ['GET', 'PUT', 'DELETE'] : ['GET'];
  if (id === undefined) {
    if (method !== 'GET') throw methodNotAllowed(method, ['GET']);
    return list(state.store.list(collection).map((r) => state.store.render(collection, r)));
  }
  if (childSegment === undefined) {
    if (method === 'PUT' && isNic) return putNetworkInterface(state, request, id);
    if (method === 'DELETE' && isNic) return deleteNetworkInterface(state, request, id);
    if (method !== 'GET') throw methodNotAllowed(method, writable);
    const resource = state.store.get(collection, id);
    if (resource === undefined) throw notFound(formatRef(collection, id));
    return single(state.store.render(collection, resource));
  }
  if (childSegment.toLowerCase() !== collection.child.toLowerCase())
    throw notFound(`/${collection.name}/${id}/${childSegment}`);
  if (childId === undefined) {
    if (method !== 'GET') throw methodNotAllowed(method, ['GET']);
    const parent = state.store.get(collection, id);
    if (parent === undefined) throw notFound(formatRef(collection, id));
    return list(childrenOf(parent, collection).map((child) => state.store.renderChild(collection, child)));
  }
  if (method === 'PUT' && isNic) return putIpConfiguration(state, request, id, childId);
  if (method === 'DELETE' && isNic) return deleteIpConfiguration(state, request, id, childId);
  if (method !== 'GET') throw methodNotAllowed(method, writable);
  const parent = state.store.get(collection, id);
  const key = childId.toLowerCase();
  const child =
    parent === undefined ? undefined : childrenOf(parent, collection).find((c) => c.resourceId.toLowerCase() === key);
  if (child === undefined) throw notFound(formatRef(collection, id, childId));
  return single(state.store.renderChild(collection, child));
}

/** Dispatches a request under /networking/v1; segment names match case-insensitively, as on HTTP.sys. */
export function routeNetworking(state: EmulatorState, request: ApiRequest): ApiResponse {
  const [first, ...rest] = request.segments;
  const path = '/' + request.segments.join('/');
  if (first === undefined || rest.length > 3) throw notFound(path);
  const root = first.toLowerCase();
  if (root === 'operations' || root === 'operationresults') {
    const [id] = rest;
    if (id === undefined || rest.length !== 1) throw notFound(path);
    if (request.method !== 'GET') throw methodNotAllowed(request.method, ['GET']);
    return root === 'operations' ? getOperation(state, id) : getOperationResult(state, id);
  }
  const collection = collectionInfo(first);
  if (collection === undefined) throw notFound(path);
  return routeCollection(state, request, collection, rest);
}
