import type { ArcMachine } from '../arc/armResources';
import { assertMachineCanRunCommands } from '../arc/machineReadiness';
import { type ErrorSource, isKnownError, StepError } from '../errors';
import type { AcceptedAttachRequest } from '../model/attachRequest';
import { isGuestVmReference, type MachineRef } from '../model/machineRef';
import type { ArcDefaults } from '../model/tenant';
import { resolveMachine } from './hostSteps';

/** Reads an Arc machine resource (ARM GET); a missing one throws the remote system's not-found error. */
export type MachineLookup = (machine: MachineRef) => Promise<ArcMachine>;

const MACHINE_FIELDS = ['hyperVHost', 'containerHost'] as const;

/**
 * Step 1's look ahead, before it writes anything: every machine the later steps run a script on exists, is
 * Connected, has an agent that can take Run Command, and does not block it. A request that could not complete
 * then fails here, with the field named and the remote code kept, having changed nothing; one that may recover
 * (a machine Disconnected for a moment) is retried like any retryable failure. Steps 2-4 still check for themselves:
 * a machine can change between now and then.
 */
export async function preflightMachines(
  getMachine: MachineLookup,
  request: AcceptedAttachRequest,
  defaults: ArcDefaults,
  /** Reads a guest credential (and forgets it): a VM reached through its host needs its secret readable. */
  readGuestCredential?: (secretName: string) => Promise<unknown>,
): Promise<Record<string, string>> {
  const checked: Record<string, string> = {};
  const containerHost = request.containerHost;
  if (isGuestVmReference(containerHost) && readGuestCredential) {
    const { vmName, credential } = containerHost;
    await asStepError(`containerHost (${vmName})`, () => readGuestCredential(credential.secretName));
    checked.containerHost = `${vmName} through ${request.hyperVHost.machineName}: secret ${credential.secretName} readable`;
  }
  for (const field of MACHINE_FIELDS) {
    const reference = request[field];
    // A VM reached through the Hyper-V host has no Arc resource; the host is checked as hyperVHost.
    if (isGuestVmReference(reference)) continue;
    const ref = resolveMachine(reference, defaults, field);
    await asStepError(`${field} (${ref.machineName})`, async () => {
      const machine = await getMachine(ref);
      assertMachineCanRunCommands(machine);
      checked[field] = `${machine.name}: ${machine.status}, agent ${machine.agentVersion ?? 'unknown'}`;
    });
  }
  return checked;
}

/** Runs a check; a known error comes back as a StepError naming the field, with its code and retryability. */
async function asStepError(what: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (error) {
    if (!isKnownError(error)) throw error;
    const source: ErrorSource | undefined = 'source' in error ? error.source : undefined;
    throw new StepError(`${what}: ${error.message}`, {
      code: error.code,
      retryable: error.retryable,
      cause: error,
      ...(source ? { source } : {}),
    });
  }
}
