import { StepError, ValidationError } from '../errors';
import type { MachineRef } from '../hosts/machineRef';
import {
  enableNetworkProxyScript,
  ensureContainerNetworkScript,
  installPrivateCloudPluginScript,
} from '../hosts/scripts';
import type { MachineReference } from './attachRequest';
import { type MachineTaskCheckpoint, type MachineTaskDeps, runMachineTask } from './machineTask';
import type { StepOutcome, StepRunContext } from './stepTypes';

/** Where machine references without their own subscription or resource group live. */
export interface ArcDefaults {
  subscriptionId?: string;
  resourceGroup?: string;
}

export function resolveMachine(reference: MachineReference, defaults: ArcDefaults, field: string): MachineRef {
  const subscriptionId = reference.subscriptionId ?? defaults.subscriptionId;
  const resourceGroup = reference.resourceGroup ?? defaults.resourceGroup;
  const issues = [
    ...(subscriptionId
      ? []
      : [{ field: `${field}.subscriptionId`, reason: 'is required (no ARC_DEFAULT_SUBSCRIPTION_ID is configured)' }]),
    ...(resourceGroup
      ? []
      : [{ field: `${field}.resourceGroup`, reason: 'is required (no ARC_DEFAULT_RESOURCE_GROUP is configured)' }]),
  ];
  if (!subscriptionId || !resourceGroup) throw new ValidationError(issues);
  return { subscriptionId, resourceGroup, machineName: reference.machineName };
}

type Run = StepRunContext<MachineTaskCheckpoint>;

/** Step 2: the metadata proxy on the Hyper-V host that runs the tenant VM. */
export function enableNetworkProxy(
  deps: MachineTaskDeps,
  defaults: ArcDefaults,
  run: Run,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  return runMachineTask(deps, run, {
    step: 'enableNetworkProxy',
    machine: resolveMachine(run.request.hyperVHost, defaults, 'hyperVHost'),
    subject: '',
    script: enableNetworkProxyScript,
    input: {},
  });
}

/** Step 3: the Private Cloud plugin for HNS inside the container host VM. */
export function installPrivateCloudPlugin(
  deps: MachineTaskDeps,
  defaults: ArcDefaults,
  run: Run,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  return runMachineTask(deps, run, {
    step: 'installPrivateCloudPlugin',
    machine: resolveMachine(run.request.containerHost, defaults, 'containerHost'),
    subject: '',
    script: installPrivateCloudPluginScript,
    input: {},
  });
}

/**
 * Step 4: the Docker network on the container host VM, on the virtual subnet's prefix, with the subnet's gateway
 * (its first address) unless the request names one.
 */
export async function createContainerNetwork(
  deps: MachineTaskDeps,
  defaults: ArcDefaults,
  run: Run,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  const subnet = run.result.subnet;
  if (!subnet) {
    throw new StepError('The virtual subnet is unknown: step 1 did not record it.', {
      code: 'MissingSubnet',
      retryable: false,
    });
  }
  const { name, driver, gateway } = run.request.network;
  const input = { networkName: name, driver, subnet: subnet.addressPrefix, gateway: gateway ?? subnet.gateway };
  const outcome = await runMachineTask(deps, run, {
    step: 'createContainerNetwork',
    machine: resolveMachine(run.request.containerHost, defaults, 'containerHost'),
    subject: name,
    script: ensureContainerNetworkScript,
    input,
  });
  if (outcome.kind !== 'succeeded') return outcome;
  const scriptResult = (outcome.detail.scriptResult ?? {}) as { network?: { id?: unknown } };
  const networkId = scriptResult.network?.id;
  return {
    ...outcome,
    result: {
      containerNetwork: {
        name,
        driver,
        subnet: input.subnet,
        gateway: input.gateway,
        ...(typeof networkId === 'string' ? { id: networkId } : {}),
        machine: outcome.detail.machine,
      },
    },
  };
}
