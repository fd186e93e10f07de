import { z } from 'zod';

import {
  AttachmentIdSchema,
  AttachQueueMessageSchema,
  AttachRequestSchema,
  DetachQueueMessageSchema,
  TenantIdSchema,
} from '../model/attachRequest';
import {
  ContainerHostReferenceSchema,
  GuestVmReferenceSchema,
  MACHINE_NAME_PATTERN,
  MachineReferenceSchema,
} from '../model/machineRef';
import { RUNTIME_STATUSES } from '../model/records';
import { TenantEntrySchema } from '../model/tenant';
import { MachineLocationSchema } from './pluginRemoval';
import {
  AttachmentDocumentSchema,
  AttachmentListSchema,
  AttachmentSummarySchema,
  CancelAnswerSchema,
  DetachAnswerSchema,
  ErrorResponseSchema,
  PluginRemovalAnswerSchema,
  RepairAnswerSchema,
  SubmitAnswerSchema,
  TenantListSchema,
  TenantViewSchema,
  VerificationAnswerSchema,
} from './schemas';

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

const containerHostParts = new Set<unknown>([
  ContainerHostReferenceSchema,
  ContainerHostReferenceSchema._zod.def.in,
  ContainerHostReferenceSchema._zod.def.out,
]);

/**
 * A zod schema as JSON Schema 2020-12, the dialect of OpenAPI 3.1. `input` for what a client sends (defaults
 * optional), `output` for what the API answers (every field it always sets is required, no other field allowed).
 * Refinements (IPv4 checks, "exactly one of") stay in the server's checks and the field descriptions.
 */
export function toJsonSchema(schema: z.ZodType, io: Io): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      if (containerHostParts.has(ctx.zodSchema)) {
        // Chosen at run time by the `through` field (machineRef.ts); both forms, as JSON Schema can say it.
        for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
        ctx.jsonSchema.oneOf = [toJsonSchema(MachineReferenceSchema, io), toJsonSchema(GuestVmReferenceSchema, io)];
        return;
      }
      const type = ctx.zodSchema._zod.def.type;
      if (type === 'custom' || type === 'transform')
        throw new TypeError(`A ${type} schema has no JSON Schema form; describe it in shared/api/openApi.ts.`);
    },
  }) as JsonSchema;
  delete converted.$schema;
  return converted;
}

const ref = (kind: 'schemas' | 'responses' | 'parameters', name: string) => ({ $ref: `#/components/${kind}/${name}` });

const json = (schemaName: string) => ({ 'application/json': { schema: ref('schemas', schemaName) } });

const header = (description: string, schema: JsonSchema) => ({ description, schema });
const LOCATION = header('The status document’s URL.', { type: 'string', format: 'uri' });
const RETRY_AFTER = header('Seconds to wait before asking for the status again (`STATUS_RETRY_AFTER_SECONDS`).', {
  type: 'integer',
  minimum: 0,
});
const ETAG = header('The registry entry’s version, for `If-Match`.', { type: 'string' });

interface AnswerOptions {
  headers?: Record<string, unknown>;
}

function answer(description: string, schemaName: string, options: AnswerOptions = {}) {
  return { description, ...(options.headers ? { headers: options.headers } : {}), content: json(schemaName) };
}

const ERROR_ANSWERS = {
  BadRequest: 'Invalid input: `details` names every bad field (`target`) and the reason. Nothing was stored or sent.',
  Unauthenticated: 'App Service Authentication is on and the request carries no usable principal.',
  Forbidden:
    '`OperatorOnly` (an operator’s route), `TenantNotAuthorized` (the tenant’s registry entry does not allow a field named in `details`) or `TenantQuotaExceeded`.',
  NotFound: 'Unknown, or another tenant’s (a tenant principal is told the same for a tenant it may not use).',
  Conflict: 'The resource is not in a state that allows the request; `code` says why.',
  PreconditionFailed: 'The `If-Match` / `If-None-Match` condition does not hold.',
  BadGateway: 'A remote system failed; `code` and `message` are its own.',
  GatewayTimeout: '`RunTimedOut`: the remote run outlasted the request and may still be going.',
} as const;
type ErrorAnswer = keyof typeof ERROR_ANSWERS;
const ERROR_STATUS: Record<ErrorAnswer, string> = {
  BadRequest: '400',
  Unauthenticated: '401',
  Forbidden: '403',
  NotFound: '404',
  Conflict: '409',
  PreconditionFailed: '412',
  BadGateway: '502',
  GatewayTimeout: '504',
};

function errors(...names: ErrorAnswer[]) {
  return Object.fromEntries(names.map((name) => [ERROR_STATUS[name], ref('responses', name)]));
}

const TENANT_ROUTE_ERRORS: ErrorAnswer[] = ['BadRequest', 'Unauthenticated', 'NotFound'];
const ADMIN_ERRORS: ErrorAnswer[] = ['BadRequest', 'Unauthenticated', 'Forbidden'];
const ATTACHMENT_PARAMETERS = [ref('parameters', 'tenantId'), ref('parameters', 'attachmentId')];

function operation(
  operationId: string,
  tag: string,
  summary: string,
  responses: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return { operationId, tags: [tag], summary, ...extra, responses };
}

function requestBody(schemaName: string, required = true) {
  return { required, content: json(schemaName) };
}

const queryParameter = (name: string, description: string, schema: JsonSchema) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const SHOW_HISTORY = queryParameter('showHistory', 'Adds the event history.', { type: 'string', enum: ['true'] });
const TOP = queryParameter('top', 'Page size, 1 to `LIST_PAGE_SIZE_MAX` (default 100); 50 when absent.', {
  type: 'integer',
  minimum: 1,
});
const CONTINUATION_TOKEN = queryParameter('continuationToken', 'From `nextLink`.', {
  type: 'string',
  pattern: '^[A-Za-z0-9+/=_-]{1,2048}$',
});
const statusAlternatives = RUNTIME_STATUSES.join('|');
const RUNTIME_STATUS_FILTER = queryParameter(
  'runtimeStatus',
  `Comma-separated statuses to keep, e.g. \`Failed,Running\`: ${RUNTIME_STATUSES.join(', ')}.`,
  { type: 'string', pattern: `^\\s*(${statusAlternatives})\\s*(,\\s*(${statusAlternatives})\\s*)*$` },
);
const conditionHeader = (name: string, description: string) => ({
  name,
  in: 'header',
  required: false,
  description,
  schema: { type: 'string' },
});

function paths() {
  const attachment = {
    get: operation(
      'getAttachment',
      'attachments',
      'The status document',
      {
        '200': answer('Ended: Completed, Failed, Canceled or Detached.', 'AttachmentDocument'),
        '202': answer('Pending, Running or Detaching.', 'AttachmentDocument', {
          headers: { 'Retry-After': RETRY_AFTER },
        }),
        ...errors(...TENANT_ROUTE_ERRORS),
      },
      { parameters: [SHOW_HISTORY] },
    ),
    delete: operation('detachAttachment', 'attachments', 'Detach: take back off what the attachment made', {
      '200': answer('Already Detached.', 'DetachAnswer'),
      '202': answer(
        'The detach runs (or will, once a running attach reaches its next step boundary).',
        'DetachAnswer',
        {
          headers: { Location: LOCATION, 'Retry-After': RETRY_AFTER },
        },
      ),
      ...errors(...TENANT_ROUTE_ERRORS, 'Forbidden'),
    }),
  };
  const accepted = (schemaName: string, description: string) =>
    answer(description, schemaName, { headers: { Location: LOCATION, 'Retry-After': RETRY_AFTER } });
  return {
    '/tenants/{tenantId}/attachments': {
      parameters: [ref('parameters', 'tenantId')],
      post: operation(
        'submitAttachment',
        'attachments',
        'Submit an attach request',
        {
          '202': accepted('SubmitAnswer', 'Accepted; the same request again answers the same attachment.'),
          ...errors('BadRequest', 'Unauthenticated', 'Forbidden', 'NotFound'),
          '409': {
            description: '`AttachmentIdInUse`: a different request already uses this `attachmentId`.',
            headers: { Location: LOCATION },
            content: json('ErrorResponse'),
          },
        },
        { requestBody: requestBody('AttachRequest') },
      ),
      get: operation(
        'listAttachments',
        'attachments',
        'The tenant’s attachments, one page',
        {
          '200': answer('One page; `nextLink` is null on the last.', 'AttachmentList'),
          ...errors(...TENANT_ROUTE_ERRORS),
        },
        { parameters: [RUNTIME_STATUS_FILTER, TOP, CONTINUATION_TOKEN] },
      ),
    },
    '/tenants/{tenantId}/attachments/{id}': { parameters: ATTACHMENT_PARAMETERS, ...attachment },
    '/tenants/{tenantId}/attachments/{id}/retry': {
      parameters: ATTACHMENT_PARAMETERS,
      post: operation('retryAttachment', 'attachments', 'Restart a Failed attachment from its failed step', {
        '202': accepted('AttachmentSummary', 'Restarted.'),
        ...errors(...TENANT_ROUTE_ERRORS, 'Conflict'),
      }),
    },
    '/tenants/{tenantId}/attachments/{id}/cancel': {
      parameters: ATTACHMENT_PARAMETERS,
      post: operation('cancelAttachment', 'attachments', 'Stop at the next step boundary', {
        '202': accepted('CancelAnswer', 'Will stop at the next step boundary (asking twice is fine).'),
        ...errors(...TENANT_ROUTE_ERRORS, 'Conflict'),
      }),
    },
    '/tenants/{tenantId}/attachments/{id}/verification': {
      parameters: ATTACHMENT_PARAMETERS,
      get: operation('verifyAttachment', 'attachments', 'Read now whether what each step made is still there', {
        '200': answer('Per succeeded step: Intact, Missing or Unknown (with the reason).', 'VerificationAnswer'),
        ...errors(...TENANT_ROUTE_ERRORS, 'Forbidden', 'Conflict'),
      }),
    },
    '/tenants/{tenantId}/attachments/{id}/repair': {
      parameters: ATTACHMENT_PARAMETERS,
      post: operation('repairAttachment', 'attachments', 'Re-run exactly the steps found Missing', {
        '200': answer('All intact: `repairing` is empty.', 'RepairAnswer'),
        '202': accepted('RepairAnswer', 'The steps in `repairing` run again.'),
        ...errors(...TENANT_ROUTE_ERRORS, 'Forbidden', 'Conflict'),
      }),
    },
    '/admin/tenants': {
      get: operation(
        'listTenants',
        'tenant registry',
        'The registry, one page (operator only)',
        { '200': answer('One page; `nextLink` is null on the last.', 'TenantList'), ...errors(...ADMIN_ERRORS) },
        { parameters: [TOP, CONTINUATION_TOKEN] },
      ),
    },
    '/admin/tenants/{tenantId}': {
      parameters: [ref('parameters', 'tenantId')],
      put: operation(
        'putTenant',
        'tenant registry',
        'Create or replace a registry entry (operator only)',
        {
          '200': answer('Replaced.', 'TenantView', { headers: { ETag: ETAG } }),
          '201': answer('Created.', 'TenantView', { headers: { ETag: ETAG } }),
          ...errors(...ADMIN_ERRORS, 'PreconditionFailed'),
        },
        {
          parameters: [
            conditionHeader('If-Match', 'Replace only this version (an ETag).'),
            conditionHeader('If-None-Match', '`*`: create only.'),
          ],
          requestBody: requestBody('TenantEntry'),
        },
      ),
      get: operation(
        'getTenant',
        'tenant registry',
        'A registry entry (operator only)',
        {
          '200': answer('The entry.', 'TenantView', { headers: { ETag: ETAG } }),
          ...errors(...ADMIN_ERRORS, 'NotFound'),
        },
        { parameters: [SHOW_HISTORY] },
      ),
      delete: operation(
        'deleteTenant',
        'tenant registry',
        'Remove a registry entry (operator only)',
        {
          '204': { description: 'Removed.' },
          ...errors(...ADMIN_ERRORS, 'NotFound', 'Conflict', 'PreconditionFailed'),
        },
        { parameters: [conditionHeader('If-Match', 'Remove only this version (an ETag).')] },
      ),
    },
    '/admin/machines/{machineName}/private-cloud-plugin/remove': {
      parameters: [
        {
          name: 'machineName',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: MACHINE_NAME_PATTERN.source },
        },
      ],
      post: operation(
        'removePrivateCloudPlugin',
        'machines',
        'Remove the Private Cloud plugin from a container host VM no attachment uses (operator only)',
        {
          '200': answer('Removed, or nothing was registered (`changed: false`).', 'PluginRemovalAnswer'),
          ...errors(...ADMIN_ERRORS, 'NotFound', 'Conflict', 'BadGateway', 'GatewayTimeout'),
        },
        {
          parameters: [
            queryParameter('subscriptionId', 'Else from the body, else `ARC_DEFAULT_SUBSCRIPTION_ID`.', {
              type: 'string',
            }),
            queryParameter('resourceGroup', 'Else from the body, else `ARC_DEFAULT_RESOURCE_GROUP`.', {
              type: 'string',
            }),
          ],
          requestBody: requestBody('MachineLocation', false),
        },
      ),
    },
    '/openapi.json': {
      get: operation(
        'getOpenApiDocument',
        'operator experience',
        'This document',
        { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } },
        { security: [] },
      ),
    },
    '/ui': {
      get: operation(
        'getStatusPage',
        'operator experience',
        'The status page; it calls this API with the key or token typed into it',
        { '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
        { security: [] },
      ),
    },
  };
}

const REQUEST_SCHEMAS: Record<string, z.ZodType> = {
  AttachRequest: AttachRequestSchema,
  TenantEntry: TenantEntrySchema,
  MachineLocation: MachineLocationSchema,
  AttachQueueMessage: AttachQueueMessageSchema,
  DetachQueueMessage: DetachQueueMessageSchema,
};

const ANSWER_SCHEMAS: Record<string, z.ZodType> = {
  ErrorResponse: ErrorResponseSchema,
  AttachmentSummary: AttachmentSummarySchema,
  SubmitAnswer: SubmitAnswerSchema,
  CancelAnswer: CancelAnswerSchema,
  DetachAnswer: DetachAnswerSchema,
  AttachmentDocument: AttachmentDocumentSchema,
  AttachmentList: AttachmentListSchema,
  VerificationAnswer: VerificationAnswerSchema,
  RepairAnswer: RepairAnswerSchema,
  TenantView: TenantViewSchema,
  TenantList: TenantListSchema,
  PluginRemovalAnswer: PluginRemovalAnswerSchema,
};

const routeParameter = (name: string, schema: z.ZodType) => ({
  name: name === 'attachmentId' ? 'id' : name,
  in: 'path',
  required: true,
  schema: toJsonSchema(schema, 'input'),
});

/**
 * The OpenAPI 3.1 document of every HTTP route, built from the same zod schemas that check requests and type
 * answers. Served at `GET /api/openapi.json` and committed as docs/openapi.json (`npm run openapi`).
 */
export function openApiDocument() {
  return {
    openapi: '3.1.1',
    info: {
      title: 'SDN container attach',
      version: '1',
      description:
        'Attaches Windows container endpoints to a Microsoft SDN tenant virtual network. On Azure every call but ' +
        '`/openapi.json` and `/ui` needs a function key and an App Service Authentication token; locally ' +
        '(`npm start`), neither unless the runner is started with `--function-key`. Errors are ' +
        '`{"error":{"code","message","details"?}}`. The entry queue `attach-requests` takes `AttachQueueMessage` ' +
        'and `DetachQueueMessage` as base64 JSON. See docs/api.md.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/api', description: 'The Function App, or the local runner at http://127.0.0.1:7071/api' }],
    security: [
      { functionKeyHeader: [], appServiceAuthentication: [] },
      { functionKeyQuery: [], appServiceAuthentication: [] },
    ],
    tags: [
      { name: 'attachments', description: 'A tenant’s attachments (`/tenants/{tenantId}/...`)' },
      { name: 'tenant registry', description: 'What each tenant may touch (operator only)' },
      { name: 'machines', description: 'Machine maintenance (operator only)' },
      { name: 'operator experience', description: 'This document and the status page (anonymous)' },
    ],
    paths: paths(),
    components: {
      schemas: {
        ...Object.fromEntries(Object.entries(REQUEST_SCHEMAS).map(([name, s]) => [name, toJsonSchema(s, 'input')])),
        ...Object.fromEntries(Object.entries(ANSWER_SCHEMAS).map(([name, s]) => [name, toJsonSchema(s, 'output')])),
      },
      responses: Object.fromEntries(
        Object.entries(ERROR_ANSWERS).map(([name, description]) => [
          name,
          { description, content: json('ErrorResponse') },
        ]),
      ),
      parameters: {
        tenantId: routeParameter('tenantId', TenantIdSchema),
        attachmentId: routeParameter('attachmentId', AttachmentIdSchema),
      },
      securitySchemes: {
        functionKeyHeader: {
          type: 'apiKey',
          in: 'header',
          name: 'x-functions-key',
          description: 'A function key of the Function App.',
        },
        functionKeyQuery: {
          type: 'apiKey',
          in: 'query',
          name: 'code',
          description: 'The same key as a query parameter.',
        },
        appServiceAuthentication: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A Microsoft Entra ID token for the app registration, checked by App Service Authentication ' +
            '(a browser signed in to the app may use its session cookie instead); see docs/identity.md.',
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

/** The document as committed in docs/openapi.json: two-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
