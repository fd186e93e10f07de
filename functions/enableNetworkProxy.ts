import type { AppDeps } from '../shared/functionsHost/deps';
import { machineTaskDeps } from '../shared/functionsHost/machineTaskDeps';
import { registerStepFunctions } from '../shared/functionsHost/stepFunction';
import type { StepImplementation, StepProbe } from '../shared/workflow/executeStep';
import { enableNetworkProxy } from '../shared/workflow/hostSteps';

const STEP = 'enableNetworkProxy';

/** Step 2: the network proxy on the Hyper-V host, through Arc Run Command. */
export function enableNetworkProxyStep(app: AppDeps): StepImplementation {
  return (run) => enableNetworkProxy(machineTaskDeps(app), app.config.arm.defaults, run);
}

/** The same step, only looking whether the machine's task is already applied (then it needs no claim). */
export function enableNetworkProxyProbe(app: AppDeps): StepProbe {
  return async (run) => {
    const outcome = await enableNetworkProxy(machineTaskDeps(app), app.config.arm.defaults, run, 'probe');
    return outcome?.kind === 'succeeded' ? outcome : undefined;
  };
}

registerStepFunctions(STEP, enableNetworkProxyStep, enableNetworkProxyProbe);
