import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { type AppDeps, getDeps } from '../shared/deps';
import { executorDeps } from '../shared/hosting/executorDeps';
import { registerStorageQueueFunction } from '../shared/hosting/functionApp';
import { machineTaskDeps } from '../shared/hosting/machineTaskDeps';
import { makeStepHandler, nextStepOutputs } from '../shared/hosting/stepFunction';
import type { StepImplementation } from '../shared/workflow/executeStep';
import { createContainerNetwork } from '../shared/workflow/hostSteps';
import { stepDefinition } from '../shared/workflow/steps';

const STEP = 'createContainerNetwork';

/** Step 4: the container network in the container host VM, through Arc Run Command. */
export function createContainerNetworkStep(app: AppDeps): StepImplementation {
  return (run) => createContainerNetwork(machineTaskDeps(app), app.config.arm.defaults, run);
}

registerStorageQueueFunction(STEP, {
  queueName: stepDefinition(STEP).queueName,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: nextStepOutputs(STEP),
  handler: makeStepHandler(STEP, () => {
    const app = getDeps();
    return executorDeps(app, { [STEP]: createContainerNetworkStep(app) });
  }),
});
