import type { AppDeps } from '../shared/deps';
import { registerStorageQueueFunction } from '../shared/hosting/functionApp';
import { machineTaskDeps } from '../shared/hosting/machineTaskDeps';
import { stepFunctionOptions } from '../shared/hosting/stepFunction';
import type { StepImplementation } from '../shared/workflow/executeStep';
import { createContainerNetwork } from '../shared/workflow/hostSteps';

const STEP = 'createContainerNetwork';

/** Step 4: the container network in the container host VM, through Arc Run Command. */
export function createContainerNetworkStep(app: AppDeps): StepImplementation {
  return (run) => createContainerNetwork(machineTaskDeps(app), app.config.arm.defaults, run);
}

registerStorageQueueFunction(STEP, stepFunctionOptions(STEP, createContainerNetworkStep));
