import type { HttpResponseInit } from '@azure/functions';

import { openApiText } from '../api/openApi';
import { statusPage } from '../api/statusPage';

/** Built once per process: both are pure functions of the code. */
let openApi: string | undefined;
let page: ReturnType<typeof statusPage> | undefined;

/** `GET /api/openapi.json` (anonymous): the OpenAPI 3.1 document, the same bytes as docs/openapi.json. */
export function getOpenApiDocument(): Promise<HttpResponseInit> {
  openApi ??= openApiText();
  return Promise.resolve({
    status: 200,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    },
    body: openApi,
  });
}

/** `GET /api/ui` (anonymous): the status page; it holds no data and no secret, and calls the API as its user. */
export function getStatusPage(): Promise<HttpResponseInit> {
  page ??= statusPage();
  return Promise.resolve({ status: 200, headers: { ...page.headers }, body: page.html });
}
