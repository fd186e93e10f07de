import { randomUUID } from 'node:crypto';

import { type FunctionOutput, type FunctionTrigger, InvocationContext, type TraceContext } from '@azure/functions';

import { describeError, functionLogHandler, type LineWriter } from './invocationLog';

export interface InvocationRequest {
  functionName: string;
  handler: (input: unknown, context: InvocationContext) => unknown;
  input: unknown;
  trigger: FunctionTrigger;
  returnBinding?: FunctionOutput;
  extraOutputs: FunctionOutput[];
  triggerMetadata?: Record<string, unknown>;
  /** The host's activity for the invocation (see hostTraceContext). */
  traceContext: TraceContext;
  /** Shown in the "Executing" line, e.g. "New queue message detected on 'q'.". */
  reason: string;
  /** Extra "Key=value" details for the "Executing" line, e.g. "DequeueCount=2". */
  details?: string;
  write: LineWriter;
  /**
   * Runs after the handler resolved and before the invocation counts as succeeded: output bindings. If it throws,
   * the invocation failed, as when the host cannot flush an output binding.
   */
  completeOutputs(context: InvocationContext, result: unknown): Promise<void>;
}

export type InvocationOutcome =
  | { succeeded: true; invocationId: string; result: unknown }
  | { succeeded: false; invocationId: string; error: unknown };

/** One invocation with the host's bracketing log lines: "Executing …" then "Executed … (Succeeded|Failed …)". */
export async function invokeFunction(request: InvocationRequest): Promise<InvocationOutcome> {
  const invocationId = randomUUID();
  const { functionName, write } = request;
  const context = new InvocationContext({
    invocationId,
    functionName,
    logHandler: functionLogHandler(functionName, write),
    traceContext: request.traceContext,
    triggerMetadata: request.triggerMetadata,
    options: {
      trigger: request.trigger,
      return: request.returnBinding,
      extraInputs: [],
      extraOutputs: request.extraOutputs,
    },
  });

  const details = request.details ? `, ${request.details}` : '';
  write(`Executing '${functionName}' (Reason='${request.reason}', Id=${invocationId}${details})`);
  const startedAt = performance.now();
  const elapsed = (): string => `${Math.round(performance.now() - startedAt)}ms`;
  try {
    // Promise.resolve().then() also turns a synchronous throw into a rejection.
    const result = await Promise.resolve().then(() => request.handler(request.input, context));
    await request.completeOutputs(context, result);
    write(`Executed '${functionName}' (Succeeded, Id=${invocationId}, Duration=${elapsed()})`);
    return { succeeded: true, invocationId, result };
  } catch (error) {
    write(`Executed '${functionName}' (Failed, Id=${invocationId}, Duration=${elapsed()})`);
    write(`${functionName} [error] (Id=${invocationId}): ${describeError(error)}`);
    return { succeeded: false, invocationId, error };
  }
}
