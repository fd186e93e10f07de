import { InvocationContext, output, type StorageQueueFunctionOptions, type StorageQueueOutput } from '@azure/functions';

import { STORAGE_CONNECTION_SETTING } from '../config';
import { nextStep, stepDefinition, type StepName } from '../model/steps';
import {
  type Delivery,
  executeStep,
  type StepExecutorDeps,
  type StepImplementation,
  type StepProbe,
} from '../workflow/executeStep';
import { type AppDeps, getDeps } from './deps';
import { executorDeps } from './executorDeps';
import { registerStorageQueueFunction } from './functionApp';

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

/** The binding a step's function writes the next step's message to; none for the last step. */
export function nextStepOutputs(step: StepName): StorageQueueOutput[] {
  const next = nextStep(step);
  return next ? [stepQueueOutput(next.name)] : [];
}

export function deliveryFrom(context: InvocationContext): Delivery {
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
export function stepFunctionOptions(
  step: StepName,
  implementation: (app: AppDeps) => StepImplementation,
  probe?: (app: AppDeps) => StepProbe,
  lane: 'new' | 'rechecks' = 'new',
): StorageQueueFunctionOptions {
  const definition = stepDefinition(step);
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
export function registerStepFunctions(
  step: StepName,
  implementation: (app: AppDeps) => StepImplementation,
  probe?: (app: AppDeps) => StepProbe,
): void {
  registerStorageQueueFunction(step, stepFunctionOptions(step, implementation, probe));
  registerStorageQueueFunction(`${step}Rechecks`, stepFunctionOptions(step, implementation, probe, 'rechecks'));
}
