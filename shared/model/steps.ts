/**
 * The step table: the order of each workflow (attach, then detach) and the queues of each step. It is the one place
 * that changes when a step is added; handlers, status and routing all read it. A step has two queues: new work arrives on `queueName`;
 * re-checks of work under way (a delayed look at an operation, a parked step's wake-up, a look after another
 * invocation's lease) go to `recheckQueueName`, so they never wait behind a burst of new attachments.
 */
export const ATTACH_REQUESTS_QUEUE = 'attach-requests';
/** Watches on machine tasks in progress (see MachineTaskWatchMessageSchema). */
export const MACHINE_TASK_WATCH_QUEUE = 'machine-task-watch';

export const STEPS = [
  {
    name: 'addIpConfigurations',
    workflow: 'attach',
    queueName: 'step-add-ip-configurations',
    recheckQueueName: 'step-add-ip-configurations-rechecks',
    title: 'Add IP configurations to the VM NIC',
  },
  {
    name: 'enableNetworkProxy',
    workflow: 'attach',
    queueName: 'step-enable-network-proxy',
    recheckQueueName: 'step-enable-network-proxy-rechecks',
    title: 'Enable the network proxy on the Hyper-V host',
  },
  {
    name: 'installPrivateCloudPlugin',
    workflow: 'attach',
    queueName: 'step-install-private-cloud-plugin',
    recheckQueueName: 'step-install-private-cloud-plugin-rechecks',
    title: 'Install the Private Cloud plugin in the container host VM',
  },
  {
    name: 'createContainerNetwork',
    workflow: 'attach',
    queueName: 'step-create-container-network',
    recheckQueueName: 'step-create-container-network-rechecks',
    title: 'Create the l2bridge or l2tunnel container network',
  },
  // Detach undoes in the reverse order: the network goes first (refused while containers use it), so the NIC keeps
  // the addresses of containers still running. Host configuration (steps 2-3) is shared per machine and stays.
  {
    name: 'removeContainerNetwork',
    workflow: 'detach',
    queueName: 'step-remove-container-network',
    recheckQueueName: 'step-remove-container-network-rechecks',
    title: 'Remove the container network, unless another attachment uses it',
  },
  {
    name: 'removeIpConfigurations',
    workflow: 'detach',
    queueName: 'step-remove-ip-configurations',
    recheckQueueName: 'step-remove-ip-configurations-rechecks',
    title: "Remove the attachment's IP configurations from the VM NIC",
  },
] as const;

export type StepDefinition = (typeof STEPS)[number];
export type StepName = StepDefinition['name'];
export type Workflow = StepDefinition['workflow'];

export const STEP_NAMES: readonly StepName[] = STEPS.map((s) => s.name);

/** The steps of one workflow, in order. */
export function stepsOf(workflow: Workflow): StepDefinition[] {
  return STEPS.filter((s) => s.workflow === workflow);
}

export function workflowOf(name: StepName): Workflow {
  return stepDefinition(name).workflow;
}

export function stepDefinition(name: StepName): StepDefinition {
  const found = STEPS.find((s) => s.name === name);
  if (!found) throw new RangeError(`Unknown step ${String(name)}`);
  return found;
}

/** The step after `name` in its workflow, or undefined when `name` is the workflow's last one. */
export function nextStep(name: StepName): StepDefinition | undefined {
  const steps = stepsOf(workflowOf(name));
  return steps[steps.findIndex((s) => s.name === name) + 1];
}

/** The poison queue the Functions host moves a message to after its last failed delivery. */
export function poisonQueueOf(queueName: string): string {
  return `${queueName}-poison`;
}
