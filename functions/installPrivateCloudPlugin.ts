import type { AppDeps } from '../shared/deps';
import { registerStorageQueueFunction } from '../shared/hosting/functionApp';
import { machineTaskDeps } from '../shared/hosting/machineTaskDeps';
import { stepFunctionOptions } from '../shared/hosting/stepFunction';
import type { StepImplementation } from '../shared/workflow/executeStep';
import { installPrivateCloudPlugin } from '../shared/workflow/hostSteps';

const STEP = 'installPrivateCloudPlugin';

/** Step 3: the Private Cloud HNS plugin in the container host VM, through Arc Run Command. */
export function installPrivateCloudPluginStep(app: AppDeps): StepImplementation {
  return (run) => installPrivateCloudPlugin(machineTaskDeps(app), app.config.arm.defaults, run);
}

registerStorageQueueFunction(STEP, stepFunctionOptions(STEP, installPrivateCloudPluginStep));
