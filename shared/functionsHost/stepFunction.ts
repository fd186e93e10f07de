import { InvocationContext, output, type StorageQueueFunctionOptions, type StorageQueueOutput } from '@azure/functions';

import { STORAGE_CONNECTION_SETTING } from '../config';
import { nextStep, stepDefinition, type StepName, STEPS } from '../model/steps';
import { executeStep, type StepExecutorDeps } from '../workflow/executeStep';
import type { Delivery } from '../workflow/stepTypes';
import { getDeps } from './deps';
import { executorDeps } from './executorDeps';
import { registerStorageQueueFunction } from './functionApp';
import { STEP_IMPLEMENTATIONS } from './stepImplementations';

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

/** The binding a step's function writes the next step's message to; none for the last step. */
function nextStepOutputs(step: StepName): StorageQueueOutput[] {
  const next = nextStep(step);
  return next ? [stepQueueOutput(next.name)] : [];
}

function deliveryFrom(context: InvocationContext): Delivery {
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
  return {
    dequeueCount: Number.isFinite(dequeueCount) ? dequeueCount : 1,
    invocationId: context.invocationId,
    log: (level, message) =>
      level === 'error' ? context.error(message) : level === 'warn' ? context.warn(message) : context.info(message),
  };
}

/** A queue handler that runs one delivery of `step` and hands the next step's message to the output binding. */
export function makeStepHandler(step: StepName, deps: () => StepExecutorDeps) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const result = await executeStep(deps(), message, { ...deliveryFrom(context), expectedStep: step });
    if (result.next) context.extraOutputs.set(stepQueueOutput(result.next.step), result.next);
  };
}

/**
 * Everything a step's queue function registers: its queue (new work, or `lane` 'rechecks' for the step's
 * re-checks), the next step's output binding, and a handler that runs the step with the app's dependencies (built
 * on first use).
 */
function stepFunctionOptions(step: StepName, lane: 'new' | 'rechecks'): StorageQueueFunctionOptions {
  const definition = stepDefinition(step);
  const { implementation, probe } = STEP_IMPLEMENTATIONS[step];
  return {
    queueName: lane === 'new' ? definition.queueName : definition.recheckQueueName,
    connection: STORAGE_CONNECTION_SETTING,
    extraOutputs: nextStepOutputs(step),
    handler: makeStepHandler(step, () => {
      const app = getDeps();
      return executorDeps(app, { [step]: implementation(app) }, probe ? { [step]: probe(app) } : {});
    }),
  };
}

/** Registers a step's two functions: `<step>` on its queue of new work and `<step>Rechecks` on its re-checks. */
export function registerStepFunctions(step: StepName): void {
  registerStorageQueueFunction(step, stepFunctionOptions(step, 'new'));
  registerStorageQueueFunction(`${step}Rechecks`, stepFunctionOptions(step, 'rechecks'));
}
