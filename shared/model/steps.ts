/**
 * The step table: the order of the workflow and the queues of each step. It is the one place that changes when a
 * step is added; handlers, status and routing all read it. A step has two queues: new work arrives on `queueName`;
 * re-checks of work under way (a delayed look at an operation, a parked step's wake-up, a look after another
 * invocation's lease) go to `recheckQueueName`, so they never wait behind a burst of new attachments.
 */
export const ATTACH_REQUESTS_QUEUE = 'attach-requests';
/** Watches on machine tasks in progress (see MachineTaskWatchMessageSchema). */
export const MACHINE_TASK_WATCH_QUEUE = 'machine-task-watch';

export const STEPS = [
  {
    name: 'addIpConfigurations',
    queueName: 'step-add-ip-configurations',
    recheckQueueName: 'step-add-ip-configurations-rechecks',
    title: 'Add IP configurations to the VM NIC',
  },
  {
    name: 'enableNetworkProxy',
    queueName: 'step-enable-network-proxy',
    recheckQueueName: 'step-enable-network-proxy-rechecks',
    title: 'Enable the network proxy on the Hyper-V host',
  },
  {
    name: 'installPrivateCloudPlugin',
    queueName: 'step-install-private-cloud-plugin',
    recheckQueueName: 'step-install-private-cloud-plugin-rechecks',
    title: 'Install the Private Cloud plugin in the container host VM',
  },
  {
    name: 'createContainerNetwork',
    queueName: 'step-create-container-network',
    recheckQueueName: 'step-create-container-network-rechecks',
    title: 'Create the l2bridge or l2tunnel container network',
  },
] as const;

export type StepDefinition = (typeof STEPS)[number];
export type StepName = StepDefinition['name'];

export const STEP_NAMES: readonly StepName[] = STEPS.map((s) => s.name);

export function stepDefinition(name: StepName): StepDefinition {
  const found = STEPS.find((s) => s.name === name);
  if (!found) throw new RangeError(`Unknown step ${String(name)}`);
  return found;
}

/** The step after `name`, or undefined when `name` is the last one. */
export function nextStep(name: StepName): StepDefinition | undefined {
  const index = STEPS.findIndex((s) => s.name === name);
  return STEPS[index + 1];
}

/** The poison queue the Functions host moves a message to after its last failed delivery. */
export function poisonQueueOf(queueName: string): string {
  return `${queueName}-poison`;
}
