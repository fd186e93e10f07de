import type { AppDeps } from '../shared/functionsHost/deps';
import { machineTaskDeps } from '../shared/functionsHost/machineTaskDeps';
import { registerStepFunctions } from '../shared/functionsHost/stepFunction';
import type { StepImplementation, StepProbe } from '../shared/workflow/executeStep';
import { installPrivateCloudPlugin } from '../shared/workflow/hostSteps';

const STEP = 'installPrivateCloudPlugin';

/** Step 3: the Private Cloud HNS plugin in the container host VM, through Arc Run Command. */
export function installPrivateCloudPluginStep(app: AppDeps): StepImplementation {
  return (run) => installPrivateCloudPlugin(machineTaskDeps(app), app.config.arm.defaults, run);
}

/** The same step, only looking whether the machine's task is already applied (then it needs no claim). */
export function installPrivateCloudPluginProbe(app: AppDeps): StepProbe {
  return async (run) => {
    const outcome = await installPrivateCloudPlugin(machineTaskDeps(app), app.config.arm.defaults, run, 'probe');
    return outcome?.kind === 'succeeded' ? outcome : undefined;
  };
}

registerStepFunctions(STEP, installPrivateCloudPluginStep, installPrivateCloudPluginProbe);
