import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { type AppDeps, getDeps } from '../shared/deps';
import { executorDeps } from '../shared/hosting/executorDeps';
import { registerStorageQueueFunction } from '../shared/hosting/functionApp';
import { machineTaskDeps } from '../shared/hosting/machineTaskDeps';
import { makeStepHandler, nextStepOutputs } from '../shared/hosting/stepFunction';
import type { StepImplementation } from '../shared/workflow/executeStep';
import { enableNetworkProxy } from '../shared/workflow/hostSteps';
import { stepDefinition } from '../shared/workflow/steps';

const STEP = 'enableNetworkProxy';

/** Step 2: the network proxy on the Hyper-V host, through Arc Run Command. */
export function enableNetworkProxyStep(app: AppDeps): StepImplementation {
  return (run) => enableNetworkProxy(machineTaskDeps(app), app.config.arm.defaults, run);
}

registerStorageQueueFunction(STEP, {
  queueName: stepDefinition(STEP).queueName,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: nextStepOutputs(STEP),
  handler: makeStepHandler(STEP, () => {
    const app = getDeps();
    return executorDeps(app, { [STEP]: enableNetworkProxyStep(app) });
  }),
});
