import type { StepName } from '../model/steps';
import { addIpConfigurations } from '../workflow/addIpConfigurations';
import {
  createContainerNetwork,
  enableNetworkProxy,
  type HostStepDeps,
  installPrivateCloudPlugin,
  removeContainerNetwork,
} from '../workflow/hostSteps';
import { preflightMachines } from '../workflow/preflight';
import { removeIpConfigurations } from '../workflow/removeIpConfigurations';
import type { StepImplementation, StepProbe } from '../workflow/stepTypes';
import { tenantGuard } from '../workflow/tenantGuard';
import type { AppDeps } from './deps';
import { guestCredential, machineTaskDeps } from './machineTaskDeps';

/** Step 1 with its Network Controller chosen by the request. */
function addIpConfigurationsStep(app: AppDeps): StepImplementation {
  return (run) => {
    const controller = app.networkController(run.request.networkController);
    return addIpConfigurations(
      {
        networkController: controller.client,
        directory: controller.directory,
        writer: controller.writer,
        authorize: tenantGuard(app.tenants, app.config.arm.defaults),
        preflight: (request) =>
          preflightMachines(
            (machine) => app.runCommands.getMachine(machine),
            request,
            app.config.arm.defaults,
            (secretName) => guestCredential(app, secretName),
          ),
        pollIntervalInMs: app.config.networkControllerDefaults.pollIntervalInMs,
        operationTimeoutInMs: app.config.networkControllerDefaults.operationTimeoutInMs,
      },
      run as Parameters<typeof addIpConfigurations>[1],
    );
  };
}

/** Detach of step 1, through the same controller client, directory and NIC writer. */
function removeIpConfigurationsStep(app: AppDeps): StepImplementation {
  return (run) => {
    const controller = app.networkController(run.request.networkController);
    return removeIpConfigurations(
      {
        networkController: controller.client,
        directory: controller.directory,
        writer: controller.writer,
        authorize: tenantGuard(app.tenants, app.config.arm.defaults),
        pollIntervalInMs: app.config.networkControllerDefaults.pollIntervalInMs,
        operationTimeoutInMs: app.config.networkControllerDefaults.operationTimeoutInMs,
      },
      run,
    );
  };
}

type HostStep = typeof enableNetworkProxy;

function hostStepDeps(app: AppDeps): HostStepDeps {
  return {
    tasks: machineTaskDeps(app),
    defaults: app.config.arm.defaults,
    authorize: tenantGuard(app.tenants, app.config.arm.defaults),
  };
}

/** Steps 2-4 run a script on an Arc-enabled machine; the same code, in 'probe' mode, only looks. */
function hostStep(step: HostStep): {
  implementation: (app: AppDeps) => StepImplementation;
  probe: (app: AppDeps) => StepProbe;
} {
  return {
    implementation: (app) => (run) => step(hostStepDeps(app), run),
    // Whether the machine's task is already applied (then the step needs no claim).
    probe: (app) => async (run) => {
      const outcome = await step(hostStepDeps(app), run, 'probe');
      return outcome?.kind === 'succeeded' ? outcome : undefined;
    },
  };
}

/** Each step's implementation (and probe, for steps 2-4), built from the app's dependencies. */
export const STEP_IMPLEMENTATIONS: Record<
  StepName,
  { implementation: (app: AppDeps) => StepImplementation; probe?: (app: AppDeps) => StepProbe }
> = {
  addIpConfigurations: { implementation: addIpConfigurationsStep },
  enableNetworkProxy: hostStep(enableNetworkProxy),
  installPrivateCloudPlugin: hostStep(installPrivateCloudPlugin),
  createContainerNetwork: hostStep(createContainerNetwork),
  removeContainerNetwork: {
    implementation: (app) => (run) =>
      removeContainerNetwork(
        {
          ...hostStepDeps(app),
          networkUsers: (machineName, networkName) => app.store.listContainerNetworkUsers(machineName, networkName),
        },
        run,
      ),
  },
  removeIpConfigurations: { implementation: removeIpConfigurationsStep },
};
