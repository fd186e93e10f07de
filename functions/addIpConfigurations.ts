import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { type AppDeps, getDeps } from '../shared/deps';
import { executorDeps } from '../shared/hosting/executorDeps';
import { registerStorageQueueFunction } from '../shared/hosting/functionApp';
import { makeStepHandler, nextStepOutputs } from '../shared/hosting/stepFunction';
import { addIpConfigurations, type AddIpConfigurationsCheckpoint } from '../shared/workflow/addIpConfigurations';
import type { StepImplementation } from '../shared/workflow/executeStep';
import { stepDefinition } from '../shared/workflow/steps';

const STEP = 'addIpConfigurations';

/** Step 1 with its Network Controller chosen by the request. */
export function addIpConfigurationsStep(app: AppDeps): StepImplementation {
  return (run) => {
    const controller = app.networkController(run.request.networkController);
    return addIpConfigurations(
      {
        networkController: controller.client,
        directory: controller.directory,
        writer: controller.writer,
        pollIntervalInMs: app.config.networkControllerDefaults.pollIntervalInMs,
        operationTimeoutInMs: app.config.networkControllerDefaults.operationTimeoutInMs,
      },
      run as Parameters<typeof addIpConfigurations>[1],
    );
  };
}

registerStorageQueueFunction(STEP, {
  queueName: stepDefinition(STEP).queueName,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: nextStepOutputs(STEP),
  handler: makeStepHandler(STEP, () => {
    const app = getDeps();
    return executorDeps(app, { [STEP]: addIpConfigurationsStep(app) });
  }),
});

export type { AddIpConfigurationsCheckpoint };
