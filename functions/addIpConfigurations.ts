import type { AppDeps } from '../shared/functionsHost/deps';
import { registerStepFunctions } from '../shared/functionsHost/stepFunction';
import { addIpConfigurations, type AddIpConfigurationsCheckpoint } from '../shared/workflow/addIpConfigurations';
import type { StepImplementation } from '../shared/workflow/executeStep';

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

registerStepFunctions(STEP, addIpConfigurationsStep);

export type { AddIpConfigurationsCheckpoint };
