import { readFileSync } from 'node:fs';
import path from 'node:path';

import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export const OPENAPI_PATH = path.join(__dirname, '..', '..', 'docs', 'openapi.json');

interface Operation {
  responses: Record<string, Response | { $ref: string }>;
}
interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: unknown }>;
}
export interface OpenApi {
  paths: Record<string, Record<string, unknown>>;
  components: { responses: Record<string, Response>; schemas: Record<string, unknown> };
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** docs/openapi.json as committed. */
export function committedOpenApi(): OpenApi {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApi;
}

/** Every `METHOD /path` the document describes. */
export function documentedOperations(doc: OpenApi): string[] {
  return Object.entries(doc.paths).flatMap(([route, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${route}`),
  );
}

/** What an answer was checked against, so a test can tell which operations and statuses it covered. */
export interface CheckedAnswer {
  operation: string;
  status: number;
}

/**
 * Checks real answers against the document: the status is one the operation documents, every header it documents is
 * there, and a JSON body validates (JSON Schema 2020-12, formats included) against the documented schema.
 */
export function openApiChecker(doc: OpenApi) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const checked: CheckedAnswer[] = [];

  /** The documented answer, and the JSON pointer in openapi.json where it is written. */
  function responseOf(route: string, method: string, status: number): { response: Response; pointer: string } {
    const operation = doc.paths[route]?.[method.toLowerCase()] as Operation | undefined;
    if (!operation) throw new Error(`docs/openapi.json has no ${method} ${route}`);
    const found = operation.responses[String(status)];
    if (!found) {
      throw new Error(
        `${method} ${route} answered ${status}, which docs/openapi.json does not document (it has ${Object.keys(operation.responses).join(', ')})`,
      );
    }
    if ('$ref' in found) {
      const name = found.$ref.split('/').pop() ?? '';
      return { response: doc.components.responses[name] as Response, pointer: `/components/responses/${name}` };
    }
    const escaped = route.replaceAll('~', '~0').replaceAll('/', '~1');
    return { response: found, pointer: `/paths/${escaped}/${method.toLowerCase()}/responses/${status}` };
  }

  return {
    checked,
    /** Throws, naming what differs, unless `value` matches the document's schema `name` (components/schemas). */
    matches(name: string, value: unknown): void {
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${name}`);
      if (!validate) throw new Error(`docs/openapi.json has no schema ${name}`);
      if (!validate(value)) throw new Error(`not a ${name}: ${describe(validate.errors)}\n${JSON.stringify(value)}`);
    },
    /** Throws, naming what differs, unless the answer is one the document describes. */
    check(route: string, method: string, answer: { status: number; headers: Headers; text: string }): void {
      const { response, pointer } = responseOf(route, method, answer.status);
      const where = `${method} ${route} → ${answer.status}`;
      for (const name of Object.keys(response.headers ?? {})) {
        if (!answer.headers.has(name)) throw new Error(`${where}: documented header ${name} is missing`);
      }
      const media = Object.keys(response.content ?? {});
      if (media.length === 0 && answer.text !== '')
        throw new Error(`${where}: documented without a body, got ${answer.text.slice(0, 200)}`);
      if (media.includes('application/json')) {
        const schemaRef = `openapi.json#${pointer}/content/application~1json/schema`;
        const validate = ajv.getSchema(schemaRef);
        if (!validate) throw new Error(`${where}: cannot compile ${schemaRef}`);
        if (!validate(JSON.parse(answer.text) as unknown)) {
          throw new Error(
            `${where}: the body does not match ${schemaRef}: ${describe(validate.errors)}\n${answer.text.slice(0, 2000)}`,
          );
        }
      }
      checked.push({ operation: `${method.toUpperCase()} ${route}`, status: answer.status });
    },
  };
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('; ');
}
