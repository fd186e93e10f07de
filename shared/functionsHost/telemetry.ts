import { createRequire } from 'node:module';

import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import { ManagedIdentityCredential } from '@azure/identity';
import {
  type Context,
  context as otelContext,
  createTraceState,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';

import { type AppConfig, getConfig } from '../config';
import type { StepName } from '../model/steps';
import { childSpanOf, readTraceContext, spanIdsOf, type TraceContext } from '../model/traceContext';

export type LogLevel = 'info' | 'warn' | 'error';

/**
 * The custom dimensions of every log record an invocation writes. Ids only, each from a validated source (the
 * host, or a message or route that passed its schema), never free text: no key, token or certificate can get in.
 */
export interface LogDimensions {
  invocationId: string;
  functionName: string;
  tenantId?: string;
  attachmentId?: string;
  step?: StepName;
  /** The queue's dequeue count of the message being handled. */
  delivery?: number;
}

/** What a line is about, when the invocation knows: merged into the invocation's own dimensions. */
export type LogSubject = Partial<Pick<LogDimensions, 'tenantId' | 'attachmentId' | 'step' | 'delivery'>>;

/** One invocation's span and structured log. */
export interface InvocationTelemetry {
  /** This invocation's own span: the parent of every message it sends. */
  readonly traceContext: TraceContext;
  log(level: LogLevel, text: string, subject?: LogSubject): void;
}

const INSTRUMENTATION_NAME = 'sdn-container-attach';
const SEVERITY: Record<LogLevel, SeverityNumber> = {
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

let exporting: boolean | undefined;

/**
 * Starts exporting traces and log records to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is
 * set; otherwise (locally) does nothing, and spans and records cost nothing. Called once, at the first function
 * registration: before any invocation, and early enough for the HTTP and Azure SDK instrumentations.
 */
export function startTelemetry(config: AppConfig | undefined = configOrUndefined()): void {
  if (exporting !== undefined) return;
  exporting = false;
  const insights = config?.applicationInsights;
  if (!insights) return;
  // Loaded only when used: the distro is large and takes seconds to load, which local runs need not pay.
  const load = createRequire(__filename);
  const { useAzureMonitor } = load('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: insights.connectionString,
      // Identity-based ingestion (local authentication off), with the identity the host uses for its own.
      ...(insights.auth.mode === 'managedIdentity'
        ? {
            credential: new ManagedIdentityCredential(
              insights.auth.clientId ? { clientId: insights.auth.clientId } : {},
            ),
          }
        : {}),
    },
  });
  // The worker now sends its log records itself, with their dimensions: the host must not send them again, bare.
  app.setup({ capabilities: { WorkerApplicationInsightsLoggingEnabled: true } });
  exporting = true;
}

// A bad setting is reported by functions/validateSettings.ts, which stops the app; telemetry just stays off.
function configOrUndefined(): AppConfig | undefined {
  try {
    return getConfig();
  } catch {
    return undefined;
  }
}

/** Sends what is buffered (tests and the local runner; the host keeps the worker alive long enough). */
export async function flushTelemetry(): Promise<void> {
  if (!exporting) return;
  const load = createRequire(__filename);
  const { shutdownAzureMonitor } = load(
    '@azure/monitor-opentelemetry',
  ) as typeof import('@azure/monitor-opentelemetry');
  await shutdownAzureMonitor();
}

const scopes = new WeakMap<InvocationContext, InvocationTelemetry>();

/**
 * The telemetry of the invocation `context` belongs to. Every registered function has one (see `traced`); a
 * context made elsewhere (a unit test's) gets a fresh span in a trace of its own.
 */
export function telemetryOf(context: InvocationContext): InvocationTelemetry {
  let scope = scopes.get(context);
  if (!scope) {
    scope = openScope(context.functionName, context, undefined, ROOT_CONTEXT, undefined).telemetry;
    scopes.set(context, scope);
  }
  return scope;
}

/**
 * Wraps a function's handler in its invocation's span. The parent is, in this order: the trace context a queue
 * message carries (so an attachment is one trace across its hops), the host's (`context.traceContext`: for HTTP it
 * continues the caller's `traceparent`), the request's own `traceparent` header; otherwise a new trace. A
 * malformed value is never used: a bad header is reported here, a bad step message by the step (it knows the
 * attachment).
 */
export function traced<I, R>(
  trigger: 'http' | 'queue',
  handler: (input: I, context: InvocationContext) => R,
): (input: I, context: InvocationContext) => Promise<Awaited<R>> {
  return async (input, context): Promise<Awaited<R>> => {
    const host = readTraceContext(context.traceContext?.traceParent, context.traceContext?.traceState);
    let parent: TraceContext | undefined;
    let headerProblem: string | undefined;
    if (trigger === 'queue') {
      parent = messageTraceContext(input) ?? host.context;
    } else if (host.context) {
      parent = host.context;
    } else {
      const headers = (input as HttpRequest).headers;
      const header = readTraceContext(headers.get('traceparent') ?? undefined, headers.get('tracestate') ?? undefined, {
        traceparent: 'traceparent header',
        tracestate: 'tracestate header',
      });
      parent = header.context;
      headerProblem = header.problem;
    }
    // The host's own record of this invocation is in a trace of its own when the parent came from the message.
    const hostLink = host.context && host.context !== parent ? host.context : undefined;
    const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, remoteSpanContext(parent)) : ROOT_CONTEXT;
    const { telemetry, span, active } = openScope(
      context.functionName,
      context,
      parent,
      parentContext,
      hostLink,
      trigger === 'http' ? SpanKind.SERVER : SpanKind.CONSUMER,
    );
    scopes.set(context, telemetry);
    if (headerProblem) telemetry.log('warn', `trace context ignored: ${headerProblem}`);
    try {
      const result = await otelContext.with(active, async (): Promise<Awaited<R>> => await handler(input, context));
      const status = trigger === 'http' ? (result as { status?: unknown } | undefined)?.status : undefined;
      if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'Error' });
      throw error;
    } finally {
      span.end();
    }
  };
}

function messageTraceContext(input: unknown): TraceContext | undefined {
  if (typeof input !== 'object' || input === null || !('traceparent' in input)) return undefined;
  const { traceparent, tracestate } = input as { traceparent?: unknown; tracestate?: unknown };
  return readTraceContext(traceparent, tracestate).context;
}

function remoteSpanContext(context: TraceContext) {
  const ids = spanIdsOf(context);
  return {
    traceId: ids.traceId,
    spanId: ids.spanId,
    traceFlags: Number.parseInt(ids.traceFlags, 16),
    isRemote: true,
    ...(context.tracestate ? { traceState: createTraceState(context.tracestate) } : {}),
  };
}

function openScope(
  functionName: string,
  context: InvocationContext,
  parent: TraceContext | undefined,
  parentContext: Context,
  hostLink: TraceContext | undefined,
  kind: SpanKind = SpanKind.INTERNAL,
): { telemetry: InvocationTelemetry; span: Span; active: Context } {
  const dimensions: LogDimensions = { invocationId: context.invocationId, functionName };
  const links: Link[] = hostLink ? [{ context: remoteSpanContext(hostLink) }] : [];
  // Application Insights names a request after its span only for HTTP; a queue delivery names itself.
  const naming = kind === SpanKind.CONSUMER ? { 'ai.operation.name': functionName } : {};
  const span = trace
    .getTracer(INSTRUMENTATION_NAME)
    .startSpan(functionName, { kind, attributes: { ...dimensions, ...naming }, links }, parentContext);
  const active = trace.setSpan(parentContext, span);
  // Without an SDK (telemetry off) the span is the parent's own context: make up this invocation's span id, so
  // each hop is still a new span under the one before.
  const own = span.spanContext();
  const ownIsNew = isSpanContextValid(own) && (!parent || own.spanId !== spanIdsOf(parent).spanId);
  const traceContext = ownIsNew
    ? {
        traceparent: `00-${own.traceId}-${own.spanId}-${own.traceFlags.toString(16).padStart(2, '0')}`,
        ...(parent?.tracestate ? { tracestate: parent.tracestate } : {}),
      }
    : childSpanOf(parent);
  const logger = logs.getLogger(INSTRUMENTATION_NAME);
  const telemetry: InvocationTelemetry = {
    traceContext,
    log(level, text, subject) {
      if (level === 'error') context.error(text);
      else if (level === 'warn') context.warn(text);
      else context.info(text);
      if (!exporting) return;
      logger.emit({
        severityNumber: SEVERITY[level],
        severityText: level === 'warn' ? 'WARN' : level.toUpperCase(),
        body: text,
        attributes: definedOnly({ ...dimensions, ...subject }),
        context: active,
      });
    },
  };
  return { telemetry, span, active };
}

function definedOnly(values: Record<string, string | number | undefined>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Record<
    string,
    string | number
  >;
}
