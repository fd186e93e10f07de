import type { AppDeps } from '../shared/functionsHost/deps';
import { machineTaskDeps } from '../shared/functionsHost/machineTaskDeps';
import { registerStepFunctions } from '../shared/functionsHost/stepFunction';
import type { StepImplementation, StepProbe } from '../shared/workflow/executeStep';
import { createContainerNetwork } from '../shared/workflow/hostSteps';

const STEP = 'createContainerNetwork';

/** Step 4: the container network in the container host VM, through Arc Run Command. */
export function createContainerNetworkStep(app: AppDeps): StepImplementation {
  return (run) => createContainerNetwork(machineTaskDeps(app), app.config.arm.defaults, run);
}

/** The same step, only looking whether the machine's task is already applied (then it needs no claim). */
export function createContainerNetworkProbe(app: AppDeps): StepProbe {
  return async (run) => {
    const outcome = await createContainerNetwork(machineTaskDeps(app), app.config.arm.defaults, run, 'probe');
    return outcome?.kind === 'succeeded' ? outcome : undefined;
  };
}

registerStepFunctions(STEP, createContainerNetworkStep, createContainerNetworkProbe);
