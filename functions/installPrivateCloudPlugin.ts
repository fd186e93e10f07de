import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { type AppDeps, getDeps } from '../shared/deps';
import { executorDeps } from '../shared/hosting/executorDeps';
import { registerStorageQueueFunction } from '../shared/hosting/functionApp';
import { machineTaskDeps } from '../shared/hosting/machineTaskDeps';
import { makeStepHandler, nextStepOutputs } from '../shared/hosting/stepFunction';
import type { StepImplementation } from '../shared/workflow/executeStep';
import { installPrivateCloudPlugin } from '../shared/workflow/hostSteps';
import { stepDefinition } from '../shared/workflow/steps';

const STEP = 'installPrivateCloudPlugin';

/** Step 3: the Private Cloud HNS plugin in the container host VM, through Arc Run Command. */
export function installPrivateCloudPluginStep(app: AppDeps): StepImplementation {
  return (run) => installPrivateCloudPlugin(machineTaskDeps(app), app.config.arm.defaults, run);
}

registerStorageQueueFunction(STEP, {
  queueName: stepDefinition(STEP).queueName,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: nextStepOutputs(STEP),
  handler: makeStepHandler(STEP, () => {
    const app = getDeps();
    return executorDeps(app, { [STEP]: installPrivateCloudPluginStep(app) });
  }),
});
