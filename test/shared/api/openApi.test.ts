import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';

import { openApiDocument, openApiText } from '../../../shared/api/openApi';
import { ADMIN_AREA, listFunctionRegistrations } from '../../../shared/functionsHost/functionApp';
import {
  committedOpenApi,
  documentedOperations,
  type OpenApi,
  OPENAPI_PATH,
  openApiChecker,
} from '../../support/openApi';
import { seedRequest } from '../../support/seed';

const ROOT = path.join(__dirname, '..', '..', '..');
const readJson = (...parts: string[]) => JSON.parse(readFileSync(path.join(ROOT, ...parts), 'utf8')) as unknown;

describe('docs/openapi.json', () => {
  it('is the document the code generates (else run `npm run openapi` and commit docs/openapi.json)', () => {
    const committed = readFileSync(OPENAPI_PATH, 'utf8');
    expect(
      committed === openApiText(),
      'docs/openapi.json is stale: run `npm run openapi` and commit docs/openapi.json',
    ).toBe(true);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    // An ES module: loaded as one from this CommonJS test.
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    const result = await validator.validate(openApiDocument());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes exactly the HTTP routes the functions register', async () => {
    // Every function file but the settings check, which needs a configured environment.
    const files = readdirSync(path.join(ROOT, 'functions')).filter(
      (f) => f.endsWith('.ts') && f !== 'validateSettings.ts',
    );
    for (const file of files) await import(path.join(ROOT, 'functions', file));
    const registered = listFunctionRegistrations().flatMap((r) =>
      r.kind === 'http'
        ? (r.options.methods ?? ['GET']).map((m) => `${m} /${(r.options.route ?? r.name).replace(ADMIN_AREA, 'admin')}`)
        : [],
    );
    expect(registered.length).toBeGreaterThan(10);
    expect(documentedOperations(committedOpenApi()).sort()).toEqual(registered.sort());
  });
});

describe('the document’s schemas', () => {
  let doc: OpenApi;
  let ajv: Ajv2020;
  const validate = (name: string, value: unknown) => {
    const check = ajv.getSchema(`openapi.json#/components/schemas/${name}`);
    if (!check) throw new Error(`no schema ${name}`);
    return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };

  beforeAll(() => {
    doc = committedOpenApi();
    ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi.json');
  });

  it('are JSON Schema 2020-12, the dialect OpenAPI 3.1 uses', () => {
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      expect(ajv.validateSchema(schema as object), `${name}: ${ajv.errorsText()}`).toBe(true);
    }
  });

  it('accept the examples the project ships', () => {
    expect(validate('AttachRequest', readJson('examples', 'seed-attach.json'))).toEqual([]);
    expect(validate('AttachQueueMessage', readJson('examples', 'attach-queue-message.json'))).toEqual([]);
    for (const tenant of ['contoso', 'fabrikam']) {
      expect(validate('TenantEntry', readJson('examples', 'tenants', `${tenant}.json`))).toEqual([]);
    }
    expect(
      validate('AttachRequest', {
        ...seedRequest(),
        containerHost: {
          vmName: 'ContainerHostVM1',
          through: 'hyperVHost',
          credential: { secretName: 'contoso-guest' },
        },
      }),
    ).toEqual([]);
  });

  it('refuse what the API refuses for its shape: unknown fields, bad patterns, missing fields', () => {
    expect(validate('AttachRequest', { ...seedRequest(), password: 'x' })).not.toEqual([]);
    expect(validate('AttachRequest', { ...seedRequest(), virtualNetworkId: 'https://evil.example/' })).not.toEqual([]);
    expect(
      validate('AttachRequest', { ...seedRequest(), containerHost: { vmName: 'VM1', through: 'hyperVHost' } }),
    ).not.toEqual([]);
    expect(validate('AttachRequest', { ...seedRequest(), network: { name: 'n' } })).not.toEqual([]);
    expect(validate('TenantEntry', { machines: [] })).not.toEqual([]);
  });

  it('hold no secret: no setting value, key or connection string is in the document', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/AccountKey=|DefaultEndpointsProtocol|BEGIN (RSA |EC )?PRIVATE KEY|sig=/);
  });
});

describe('the answer checker the end-to-end test uses', () => {
  const summary = {
    id: 'a1',
    tenantId: 'contoso',
    runtimeStatus: 'Pending',
    currentStep: 'addIpConfigurations',
    createdTime: '2026-12-06T02:00:00.000Z',
    lastUpdatedTime: '2026-12-06T02:00:00.000Z',
    statusQueryGetUri: 'http://127.0.0.1:7071/api/tenants/contoso/attachments/a1',
  };
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: new Headers(headers),
    text: JSON.stringify(body),
  });
  const route = '/tenants/{tenantId}/attachments/{id}/retry';
  const located = { Location: summary.statusQueryGetUri, 'Retry-After': '2' };

  it('passes a documented answer and refuses an undocumented status, a missing header or an unknown field', () => {
    const checker = openApiChecker(committedOpenApi());
    checker.check(route, 'POST', answer(202, summary, located));
    expect(checker.checked).toEqual([{ operation: `POST ${route}`, status: 202 }]);
    expect(() => checker.check(route, 'POST', answer(201, summary, located))).toThrow(/does not document/);
    expect(() => checker.check(route, 'POST', answer(202, summary, { Location: 'x' }))).toThrow(/Retry-After/);
    expect(() => checker.check(route, 'POST', answer(202, { ...summary, etag: 'W/1' }, located))).toThrow(
      /additional properties/,
    );
    expect(() => checker.check(route, 'POST', answer(409, { error: { code: 'X' } }))).toThrow(/message/);
  });
});
