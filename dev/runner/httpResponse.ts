import { type Cookie, HttpResponse } from '@azure/functions';

/** What goes on the wire for one handler result. */
export interface ResponseParts {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

// Handlers may build HttpResponse from another copy of @azure/functions (or return a fetch Response), so check the
// shape rather than the class.
function isResponseLike(value: object): value is HttpResponse {
  const candidate = value as Partial<HttpResponse>;
  return (
    value instanceof HttpResponse ||
    (typeof candidate.status === 'number' &&
      candidate.headers instanceof Headers &&
      typeof candidate.arrayBuffer === 'function')
  );
}

function serializeCookie(cookie: Cookie): string {
  const parts = [`${cookie.name}=${cookie.value}`];
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.path) parts.push(`Path=${cookie.path}`);
  if (cookie.expires !== undefined) parts.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
  if (cookie.secure) parts.push('Secure');
  if (cookie.httpOnly) parts.push('HttpOnly');
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join('; ');
}

/**
 * Converts what an HTTP handler returned, as the library's toRpcHttp does: an HttpResponse as is, a plain
 * HttpResponseInit through `new HttpResponse()` (status 200 by default, jsonBody as application/json). Returning
 * nothing gives 204. Anything else is an error, so the invocation fails.
 */
export async function toResponseParts(result: unknown): Promise<ResponseParts> {
  if (result === undefined || result === null) return { status: 204, headers: [], body: Buffer.alloc(0) };
  if (typeof result !== 'object') {
    throw new TypeError(
      'The HTTP response must be an object with optional properties "body", "status", "headers", and "cookies".',
    );
  }
  const response = isResponseLike(result) ? result : new HttpResponse(result);
  const headers = [...response.headers.entries()];
  for (const cookie of (response as Partial<HttpResponse>).cookies ?? []) {
    headers.push(['set-cookie', serializeCookie(cookie)]);
  }
  return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
}
