import { StepError } from '../errors';
import type { ArcMachine } from './armResources';

/** Run Command needs Connected Machine agent 1.33 or later. */
const MIN_AGENT_VERSION = { major: 1, minor: 33 } as const;

const RUN_COMMAND_HANDLER_EXTENSION = 'microsoft.cplat.core/runcommandhandlerwindows';

export function isAgentVersionSupported(agentVersion: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(agentVersion ?? '');
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > MIN_AGENT_VERSION.major || (major === MIN_AGENT_VERSION.major && minor >= MIN_AGENT_VERSION.minor);
}

/**
 * Throws when Run Command cannot work on this machine now. A machine that is not Connected may reconnect, so that is
 * retryable (except `Expired`, which needs the agent onboarded again); an old agent or a locally blocked handler
 * needs an administrator.
 */
export function assertMachineCanRunCommands(machine: ArcMachine): void {
  if (machine.status !== 'Connected') {
    const expired = machine.status === 'Expired';
    throw new StepError(
      `Arc machine ${machine.name} is ${machine.status}; Run Command needs its agent Connected` +
        (expired ? ' (an expired machine must be onboarded again)' : ''),
      { source: 'AzureResourceManager', code: 'MachineNotConnected', retryable: !expired },
    );
  }
  if (!isAgentVersionSupported(machine.agentVersion)) {
    throw new StepError(
      `Arc machine ${machine.name} runs Connected Machine agent ${machine.agentVersion ?? '(unknown)'}; Run Command ` +
        `needs ${MIN_AGENT_VERSION.major}.${MIN_AGENT_VERSION.minor} or later`,
      { source: 'AzureResourceManager', code: 'ArcAgentTooOld', retryable: false },
    );
  }
  if (machine.extensionsBlockList.some((entry) => entry.toLowerCase() === RUN_COMMAND_HANDLER_EXTENSION)) {
    throw new StepError(
      `Arc machine ${machine.name} blocks the Run Command handler (${RUN_COMMAND_HANDLER_EXTENSION} is in the ` +
        `agent's extensionsBlockList); an administrator must allow it with azcmagent config`,
      { source: 'AzureResourceManager', code: 'RunCommandBlocked', retryable: false },
    );
  }
}
