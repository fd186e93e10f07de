import {
  enableNetworkProxyScript,
  ensureContainerNetworkScript,
  installPrivateCloudPluginScript,
  removeContainerNetworkScript,
} from '../arc/scripts';
import { StepError, ValidationError } from '../errors';
import { type AttachRequest, containerHostName } from '../model/attachRequest';
import { isGuestVmReference, type MachineRef, type MachineReference } from '../model/machineRef';
import type { AttachmentRecord } from '../model/records';
import { workflowOf } from '../model/steps';
import type { ArcDefaults } from '../model/tenant';
import {
  type MachineTaskCheckpoint,
  type MachineTaskDeps,
  type MachineTaskSpec,
  reusedMachineTask,
  runMachineTask,
} from './machineTask';
import { sameAttachment } from './machineTaskWatch';
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

/**
 * Where the container host's scripts run: on its own Arc machine, or on its Hyper-V host's, which reaches into the
 * VM with PowerShell Direct signing in with the guest account in Key Vault secret `secretName`.
 */
export interface ContainerHostTarget {
  machine: MachineRef;
  guest?: { vmName: string; secretName: string };
}

export function resolveContainerHost(
  request: Pick<AttachRequest, 'containerHost' | 'hyperVHost'>,
  defaults: ArcDefaults,
): ContainerHostTarget {
  const reference = request.containerHost;
  if (!isGuestVmReference(reference)) return { machine: resolveMachine(reference, defaults, 'containerHost') };
  return {
    machine: resolveMachine(request.hyperVHost, defaults, 'hyperVHost'),
    guest: { vmName: reference.vmName, secretName: reference.credential.secretName },
  };
}

/**
 * A container host task's subject: on a VM reached through its host the task is the host's, so the subject names the
 * VM (parentheses: in no VM or network name).
 */
function containerHostSubject(target: ContainerHostTarget, network?: string): string {
  if (!target.guest) return network ?? '';
  return `(vm)${target.guest.vmName}${network === undefined ? '' : `(network)${network}`}`;
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
  const target = resolveContainerHost(run.request, deps.defaults);
  const spec = {
    step: 'installPrivateCloudPlugin' as const,
    machine: target.machine,
    ...(target.guest ? { guest: target.guest } : {}),
    subject: containerHostSubject(target),
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
  const target = resolveContainerHost(run.request, deps.defaults);
  const spec = {
    step: 'createContainerNetwork' as const,
    machine: target.machine,
    ...(target.guest ? { guest: target.guest } : {}),
    subject: containerHostSubject(target, name),
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
        ...(target.guest ? { vmName: target.guest.vmName } : {}),
      },
    },
  };
}

/**
 * Every tenant's attachments, not Detached, naming this container host (by `containerHostName`) and network name.
 */
export type NetworkUsers = (containerHostName: string, networkName: string) => Promise<AttachmentRecord[]>;

export interface DetachHostStepDeps extends HostStepDeps {
  networkUsers: NetworkUsers;
}

/**
 * Detach step: removes the attachment's Docker network from the container host VM, only when no other attachment
 * (any tenant) that may still use it is left: the same VM and network name, not detaching, detached or failed while
 * detaching, and not one that ended, or was asked to stop, before its step 4. Otherwise the network is kept and the
 * step says by how many. An attachment that never reached step 4 removes the network only as the last one out, when
 * the creation's record shows a network made and not removed since. The removal runs on the record of the network's
 * creation, so it never overlaps a creation, and the users are counted again once it holds that record, when nobody
 * can start using the network without waiting for it.
 */
export async function removeContainerNetwork(
  deps: DetachHostStepDeps,
  run: Run,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  await deps.authorize(run.tenantId, run.request);
  const { name, driver } = run.request.network;
  const target = resolveContainerHost(run.request, deps.defaults);
  const machine = target.machine;
  const base = {
    machine: machine.machineName,
    machineResourceGroup: machine.resourceGroup,
    ...(target.guest ? { vmName: target.guest.vmName } : {}),
    network: name,
  };
  const reachedStep4 = run.steps.createContainerNetwork.attempts > 0;
  const otherUsers = async () =>
    (await deps.networkUsers(containerHostName(run.request), name)).filter((other) =>
      usesNetwork(other, run, target, deps),
    );
  const inUse = (count: number) => `kept, in use by ${count} other attachment(s)`;
  const users = await otherUsers();
  if (users.length > 0) {
    const reason = reachedStep4 ? inUse(users.length) : 'this attachment never reached step 4';
    return { kind: 'succeeded', result: {}, detail: { ...base, removed: false, reason } };
  }
  const subject = containerHostSubject(target, name);
  // What was made: a network of that name that differs is someone else's, and is left alone.
  let made = run.result.containerNetwork as MadeNetwork | undefined;
  if (!reachedStep4) {
    // Still the last one out: while it attached it counted as a user, so the others' detaches kept the network for
    // it. It removes the network its own step 4 would have asked for, when the creation's record shows one made and
    // not removed since (or shows this step's own removal, on a redelivery).
    if (!(await networkLeftBehind(deps, run, machine, subject))) {
      return {
        kind: 'succeeded',
        result: {},
        detail: { ...base, removed: false, reason: 'this attachment never reached step 4' },
      };
    }
    const subnet = run.result.subnet;
    made = subnet
      ? { subnet: subnet.addressPrefix, gateway: run.request.network.gateway ?? subnet.gateway }
      : undefined;
  }
  const outcome = await runMachineTask(deps.tasks, run, {
    step: 'createContainerNetwork',
    forStep: 'removeContainerNetwork',
    machine,
    ...(target.guest ? { guest: target.guest } : {}),
    subject,
    script: removeContainerNetworkScript,
    input: {
      networkName: name,
      driver,
      ...(typeof made?.subnet === 'string' ? { subnet: made.subnet } : {}),
      ...(typeof made?.gateway === 'string' ? { gateway: made.gateway } : {}),
    },
    beforeRun: async () => {
      const now = await otherUsers();
      return now.length > 0 ? inUse(now.length) : undefined;
    },
  });
  if (outcome.kind !== 'succeeded') return outcome;
  const scriptResult = outcome.detail.scriptResult as { changed?: unknown } | null | undefined;
  const removed = outcome.detail.ran !== false && scriptResult?.changed !== false;
  return { ...outcome, detail: { ...outcome.detail, ...base, removed } };
}

type MadeNetwork = { subnet?: unknown; gateway?: unknown };

/**
 * Whether the creation's record shows a network made on the machine and not removed since, or this attachment's own
 * removal (under way, or done and to be reported again).
 */
async function networkLeftBehind(deps: HostStepDeps, run: Run, machine: MachineRef, subject: string): Promise<boolean> {
  const task = await deps.tasks.tasks.getTask(machine, 'createContainerNetwork', subject);
  if (!task) return false;
  const me = { tenantId: run.tenantId, attachmentId: run.attachmentId };
  if (task.script === removeContainerNetworkScript.name) {
    return sameAttachment(task.owner, me) || (task.status === 'Applied' && sameAttachment(task.appliedBy, me));
  }
  return task.status === 'Applied';
}

function usesNetwork(other: AttachmentRecord, run: Run, target: ContainerHostTarget, deps: HostStepDeps): boolean {
  if (other.tenantId === run.tenantId && other.attachmentId === run.attachmentId) return false;
  if (other.runtimeStatus === 'Detaching' || other.runtimeStatus === 'Detached') return false;
  // Its detach began, and failed (at any detach step): it has let the network go, or its own removal will run
  // again on a retry. Counting it would leave the network behind once the last real user detaches.
  if (other.currentStep && workflowOf(other.currentStep) === 'detach') return false;
  const ended = other.runtimeStatus === 'Failed' || other.runtimeStatus === 'Canceled';
  if (ended && other.steps.createContainerNetwork.attempts === 0) return false;
  // Asked to stop (a cancel, or a detach of a running attach) before its step 4 started: cancellation takes effect at
  // the next step boundary, so it never will start it.
  if (other.cancelRequested && other.steps.createContainerNetwork.attempts === 0) return false;
  let theirs: ContainerHostTarget;
  try {
    theirs = resolveContainerHost(other.request, deps.defaults);
  } catch {
    return true; // Cannot tell which machine it names: keep the network.
  }
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  return (
    same(theirs.machine.subscriptionId, target.machine.subscriptionId) &&
    same(theirs.machine.resourceGroup, target.machine.resourceGroup) &&
    same(theirs.machine.machineName, target.machine.machineName) &&
    same(theirs.guest?.vmName ?? '', target.guest?.vmName ?? '')
  );
}
