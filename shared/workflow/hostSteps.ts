import {
  enableNetworkProxyScript,
  ensureContainerNetworkScript,
  installPrivateCloudPluginScript,
} from '../arc/scripts';
import { StepError, ValidationError } from '../errors';
import type { MachineRef, MachineReference } from '../model/machineRef';
import type { ArcDefaults } from '../model/tenant';
import {
  type MachineTaskCheckpoint,
  type MachineTaskDeps,
  type MachineTaskSpec,
  reusedMachineTask,
  runMachineTask,
} from './machineTask';
import type { StepOutcome, StepRunContext } from './stepTypes';
import type { TenantGuard } from './tenantGuard';

/** What steps 2-4 need: the machine tasks, the configured Arc defaults, and the tenant registry's check. */
export interface HostStepDeps {
  tasks: MachineTaskDeps;
  defaults: ArcDefaults;
  /** Made before a run command is sent (and before a probe reuses one): the machines must still be the tenant's. */
  authorize: TenantGuard;
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

/**
 * `run` does the step (reusing, waiting for or running the machine's task); `probe` only answers whether the task is
 * already applied, changing nothing, so the executor can finish such a step without claiming it first.
 */
export type HostStepMode = 'run' | 'probe';

type HostStepResult<M extends HostStepMode> = Promise<
  M extends 'run' ? StepOutcome<MachineTaskCheckpoint> : StepOutcome<MachineTaskCheckpoint> | undefined
>;

async function machineTask<TInput>(
  deps: HostStepDeps,
  run: Run,
  spec: MachineTaskSpec<TInput>,
  mode: HostStepMode,
): Promise<StepOutcome<MachineTaskCheckpoint> | undefined> {
  await deps.authorize(run.tenantId, run.request);
  return mode === 'probe' ? reusedMachineTask(deps.tasks, run, spec) : runMachineTask(deps.tasks, run, spec);
}

/** Step 2: the metadata proxy on the Hyper-V host that runs the tenant VM. */
export function enableNetworkProxy<M extends HostStepMode = 'run'>(
  deps: HostStepDeps,
  run: Run,
  mode?: M,
): HostStepResult<M> {
  const spec = {
    step: 'enableNetworkProxy' as const,
    machine: resolveMachine(run.request.hyperVHost, deps.defaults, 'hyperVHost'),
    subject: '',
    script: enableNetworkProxyScript,
    input: {},
  };
  return machineTask(deps, run, spec, mode ?? 'run') as HostStepResult<M>;
}

/** Step 3: the Private Cloud plugin for HNS inside the container host VM. */
export function installPrivateCloudPlugin<M extends HostStepMode = 'run'>(
  deps: HostStepDeps,
  run: Run,
  mode?: M,
): HostStepResult<M> {
  const spec = {
    step: 'installPrivateCloudPlugin' as const,
    machine: resolveMachine(run.request.containerHost, deps.defaults, 'containerHost'),
    subject: '',
    script: installPrivateCloudPluginScript,
    input: {},
  };
  return machineTask(deps, run, spec, mode ?? 'run') as HostStepResult<M>;
}

/**
 * Step 4: the Docker network on the container host VM, on the virtual subnet's prefix, with the subnet's gateway
 * (its first address) unless the request names one.
 */
export function createContainerNetwork<M extends HostStepMode = 'run'>(
  deps: HostStepDeps,
  run: Run,
  mode?: M,
): HostStepResult<M> {
  return containerNetwork(deps, run, mode ?? 'run') as HostStepResult<M>;
}

async function containerNetwork(
  deps: HostStepDeps,
  run: Run,
  mode: HostStepMode,
): Promise<StepOutcome<MachineTaskCheckpoint> | undefined> {
  const subnet = run.result.subnet;
  if (!subnet) {
    throw new StepError('The virtual subnet is unknown: step 1 did not record it.', {
      code: 'MissingSubnet',
      retryable: false,
    });
  }
  const { name, driver, gateway } = run.request.network;
  const input = { networkName: name, driver, subnet: subnet.addressPrefix, gateway: gateway ?? subnet.gateway };
  const spec = {
    step: 'createContainerNetwork' as const,
    machine: resolveMachine(run.request.containerHost, deps.defaults, 'containerHost'),
    subject: name,
    script: ensureContainerNetworkScript,
    input,
  };
  const outcome = await machineTask(deps, run, spec, mode);
  if (outcome?.kind !== 'succeeded') return outcome;
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
