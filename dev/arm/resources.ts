import type { MachineEntry, RunEntry } from './ArmState';

export function machineId(entry: MachineEntry): string {
  return `/subscriptions/${entry.subscriptionId}/resourceGroups/${entry.resourceGroup}/providers/Microsoft.HybridCompute/machines/${entry.machine.name}`;
}

/** A `Microsoft.HybridCompute/machines` resource, with the fields of the 2025-01-13 Machines_Get example we use. */
export function machineResource(entry: MachineEntry): Record<string, unknown> {
  const { machine } = entry;
  return {
    id: machineId(entry),
    name: machine.name,
    type: 'Microsoft.HybridCompute/machines',
    location: machine.location,
    kind: machine.role === 'HyperVHost' ? 'HCI' : 'SCVMM',
    properties: {
      provisioningState: 'Succeeded',
      status: machine.status,
      agentVersion: machine.agentVersion,
      displayName: machine.name,
      machineFqdn: `${machine.name.toLowerCase()}.sdn.lab`,
      osName: 'windows',
      osType: 'windows',
      osSku: machine.osSku,
      osVersion: machine.osVersion,
      vmId: machine.vmId,
      agentConfiguration: {
        extensionsBlockList: [...machine.extensionsBlockList],
        extensionsAllowList: [],
        extensionsEnabled: 'true',
        guestConfigurationEnabled: 'true',
        configMode: 'full',
        incomingConnectionsPorts: [],
        proxyBypass: [],
      },
    },
  };
}

/** A run command resource; List leaves out `instanceView` unless `$expand=instanceView`. */
export function runCommandResource(entry: RunEntry, includeInstanceView = true): Record<string, unknown> {
  const { run } = entry;
  const request = run.request;
  return {
    id: `${machineId(entry)}/runCommands/${run.name}`,
    name: run.name,
    type: 'Microsoft.HybridCompute/machines/runcommands',
    location: request.location,
    ...(request.tags === undefined ? {} : { tags: request.tags }),
    properties: {
      source: { ...request.source },
      parameters: request.parameters.map((parameter) => ({ ...parameter })),
      // Protected values are never echoed.
      protectedParameters: [],
      asyncExecution: request.asyncExecution,
      timeoutInSeconds: request.timeoutInSeconds,
      ...(request.runAsUser === undefined ? {} : { runAsUser: request.runAsUser }),
      provisioningState: run.provisioningState,
      ...(includeInstanceView
        ? {
            instanceView: {
              executionState: run.executionState,
              executionMessage: run.executionMessage,
              ...(run.exitCode === undefined ? {} : { exitCode: run.exitCode }),
              output: run.output,
              error: run.error,
              ...(run.startTime === undefined ? {} : { startTime: run.startTime }),
              ...(run.endTime === undefined ? {} : { endTime: run.endTime }),
              statuses: [],
            },
          }
        : {}),
    },
  };
}
