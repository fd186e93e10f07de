import { InvocationContext, output, type StorageQueueFunctionOptions, type StorageQueueOutput } from '@azure/functions';

import { STORAGE_CONNECTION_SETTING } from '../config';
import { type StepMessage, withTraceContext } from '../model/messages';
import { stepDefinition, type StepName, STEPS } from '../model/steps';
import type { TenantRecord } from '../model/tenant';
import type { TenantStore } from '../model/TenantStore';
import { executeStep, type StepExecutorDeps } from '../workflow/executeStep';
import type { Delivery } from '../workflow/stepTypes';
import { type AppDeps, getDeps } from './deps';
import { executorDeps } from './executorDeps';
import { registerStorageQueueFunction } from './functionApp';
import { STEP_IMPLEMENTATIONS } from './stepImplementations';
import { telemetryOf } from './telemetry';

/** The output binding to a step's queue; the same object for every function that starts that step. */
const bindings = new Map<string, StorageQueueOutput>();

export function stepQueueOutput(step: StepName): StorageQueueOutput {
  const { queueName } = stepDefinition(step);
  let binding = bindings.get(queueName);
  if (!binding) {
    binding = output.storageQueue({ queueName, connection: STORAGE_CONNECTION_SETTING });
    bindings.set(queueName, binding);
  }
  return binding;
}

/** Every step queue's binding: for entry points that (re)start an attachment at whichever step it waits at. */
export function allStepQueueOutputs(): StorageQueueOutput[] {
  return STEPS.map((step) => stepQueueOutput(step.name));
}

/**
 * Hands a step message to its queue's output binding, as sent by this invocation: its span becomes the message's
 * parent, so the attachment's trace goes on across the hop.
 */
export function sendStepMessage(context: InvocationContext, message: StepMessage): void {
  context.extraOutputs.set(stepQueueOutput(message.step), withTraceContext(message, telemetryOf(context).traceContext));
}

function deliveryFrom(context: InvocationContext): Delivery {
  const count = Number(context.triggerMetadata?.dequeueCount ?? 1);
  const dequeueCount = Number.isFinite(count) ? count : 1;
  const telemetry = telemetryOf(context);
  return {
    dequeueCount,
    invocationId: context.invocationId,
    traceContext: telemetry.traceContext,
    // Every line carries the delivery; the attachment and step once the message has said them.
    log: (level, message, subject) => telemetry.log(level, message, { ...subject, delivery: dequeueCount }),
  };
}

/** A queue handler that runs one delivery of `step` and hands the next step's message to the output binding. */
export function makeStepHandler(step: StepName, deps: () => StepExecutorDeps) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const result = await executeStep(deps(), message, { ...deliveryFrom(context), expectedStep: step });
    // Already carries this delivery's trace context (executeStep stamps what it sends).
    if (result.next) context.extraOutputs.set(stepQueueOutput(result.next.step), result.next);
  };
}

/**
 * Everything a step's queue function registers: its queue (new work, or `lane` 'rechecks' for the step's
 * re-checks), the step queues' output bindings, and a handler that runs the step with the app's dependencies (built
 * on first use).
 */
function stepFunctionOptions(step: StepName, lane: 'new' | 'rechecks'): StorageQueueFunctionOptions {
  const definition = stepDefinition(step);
  const { implementation } = STEP_IMPLEMENTATIONS[step];
  return {
    queueName: lane === 'new' ? definition.queueName : definition.recheckQueueName,
    connection: STORAGE_CONNECTION_SETTING,
    // Any step may hand on to any other: the next one, the first detach step (a cancel that becomes a detach), or
    // a later one (a repair skips what is intact).
    extraOutputs: allStepQueueOutputs(),
    handler: makeStepHandler(step, () => {
      const app = deliveryScoped(getDeps());
      // Every step's probe: a delivery that finishes its step may finish the steps after it that need no work.
      const probes = Object.fromEntries(
        STEPS.flatMap(({ name }) => {
          const probe = STEP_IMPLEMENTATIONS[name].probe;
          return probe ? [[name, probe(app)]] : [];
        }),
      );
      return executorDeps(app, { [step]: implementation(app) }, probes);
    }),
  };
}

/**
 * The app's dependencies as one delivery uses them: the tenant registry is read at most once per tenant per delivery.
 * A delivery that finishes several steps (see probeFollowingSteps) checks them all against that one read, instead of
 * reading the same entry again for each; every delivery still reads it afresh.
 */
export function deliveryScoped(app: AppDeps): AppDeps {
  const reads = new Map<string, Promise<TenantRecord | undefined>>();
  const registry = app.tenants;
  const tenants: TenantStore = {
    getTenant: (tenantId) => {
      let read = reads.get(tenantId);
      if (!read) {
        read = registry.getTenant(tenantId);
        reads.set(tenantId, read);
        // A failed read is not remembered: the next caller reads again.
        read.catch(() => reads.delete(tenantId));
      }
      return read.then((record) => record && structuredClone(record));
    },
    listTenants: (options) => registry.listTenants(options),
    putTenant: (...args) => registry.putTenant(...args),
    deleteTenant: (...args) => registry.deleteTenant(...args),
    listChanges: (tenantId) => registry.listChanges(tenantId),
  };
  return { ...app, tenants };
}

/** Registers a step's two functions: `<step>` on its queue of new work and `<step>Rechecks` on its re-checks. */
export function registerStepFunctions(step: StepName): void {
  registerStorageQueueFunction(step, stepFunctionOptions(step, 'new'));
  registerStorageQueueFunction(`${step}Rechecks`, stepFunctionOptions(step, 'rechecks'));
}
