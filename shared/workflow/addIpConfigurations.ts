import { RemoteServiceError, StepError } from '../errors';
import type { NetworkControllerClient } from '../networkController/NetworkControllerClient';
import type { NetworkInterface } from '../networkController/resources';
import { aclPath, subnetPath } from '../networkController/resources';
import type { AcceptedAttachRequest } from './attachRequest';
import { firstHostAddress, formatIpv4, ipConfigurationIdFor, parseIpv4Cidr } from './ipv4';
import {
  addressHolders,
  findNicByAddress,
  findNicById,
  mergeIpConfigurations,
  missingAddresses,
  resolveContainerAddresses,
} from './nicMerge';
import type { AttachmentResult } from './records';
import type { StepOutcome, StepRunContext } from './stepTypes';

/** The Network Controller calls step 1 makes; the real client or a test's own server stands behind it. */
export type NetworkControllerApi = Pick<
  NetworkControllerClient,
  | 'listNetworkInterfaces'
  | 'getNetworkInterface'
  | 'getVirtualSubnet'
  | 'getAccessControlList'
  | 'putNetworkInterface'
  | 'getOperation'
>;

export interface AddIpConfigurationsCheckpoint extends Record<string, unknown> {
  nicId: string;
  addresses: string[];
  subnetRef: string;
  addressPrefix: string;
  aclRef?: string;
  operation?: { url: string; startedAtInMs: number };
}

export interface AddIpConfigurationsDeps {
  networkController: NetworkControllerApi;
  /** A stable GUID for a seed, so a repeated write is recognised by the controller as a retry. */
  stableUuid: (seed: string) => string;
  pollIntervalInMs: number;
  operationTimeoutInMs: number;
}

/** Rounds of read-merge-write when another writer changes the NIC between our read and our PUT. */
const MAX_MERGE_ROUNDS = 6;

/**
 * Step 1: add one static IP configuration per container address to the tenant VM's NIC. Resumable: the chosen
 * addresses and the controller operation being followed are checkpointed, so a redelivery continues rather than
 * choosing again.
 */
export async function addIpConfigurations(
  deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
): Promise<StepOutcome<AddIpConfigurationsCheckpoint>> {
  const nc = deps.networkController;
  let checkpoint = run.checkpoint;
  if (checkpoint?.operation) {
    const followed = await followOperation(deps, run, checkpoint, checkpoint.operation);
    if (followed !== 'canceled') return followed;
    checkpoint = { ...checkpoint, operation: undefined };
  }

  const request = run.request;
  if (!checkpoint) {
    const subnet = await nc.getVirtualSubnet(request.virtualNetworkId, request.subnetId, run.options);
    const addressPrefix = subnet.value.properties.addressPrefix;
    const prefix = parseIpv4Cidr(addressPrefix);
    const aclRef = request.accessControlListId
      ? ((await nc.getAccessControlList(request.accessControlListId, run.options)).value.resourceRef ??
        aclPath(request.accessControlListId))
      : subnet.value.properties.accessControlList?.resourceRef;
    const nics = await nc.listNetworkInterfaces(run.options);
    const nic = locateNic(nics, request);
    const holders = addressHolders(nics);
    const addresses = resolveContainerAddresses(
      request.containerIps,
      prefix,
      request.subnetId,
      new Set(holders.keys()),
    );
    checkpoint = {
      nicId: nic.resourceId,
      addresses,
      subnetRef: subnet.value.resourceRef ?? subnetPath(request.virtualNetworkId, request.subnetId),
      addressPrefix,
      ...(aclRef ? { aclRef } : {}),
    };
    // Saved before any write: a redelivery must reuse these addresses, not pick the next free ones.
    await run.saveCheckpoint(checkpoint);
    mergeIpConfigurations({ nic, addresses, subnetRef: checkpoint.subnetRef, aclRef, holders });
  }

  for (let round = 0; ; round++) {
    const { value: nic, etag } = await nc.getNetworkInterface(checkpoint.nicId, run.options);
    const merge = mergeIpConfigurations({
      nic,
      addresses: checkpoint.addresses,
      subnetRef: checkpoint.subnetRef,
      aclRef: checkpoint.aclRef,
    });
    if (!merge.body) return finish(deps, run, checkpoint, nic);
    try {
      const put = await nc.putNetworkInterface(checkpoint.nicId, merge.body, {
        ...run.options,
        ifMatch: etag,
        // Same NIC version and same attachment: the same write, so a replay returns the original answer.
        clientRequestId: deps.stableUuid(`${run.tenantId}/${run.attachmentId}/addIpConfigurations/${etag ?? ''}`),
      });
      if (!put.operationUrl && put.value.properties.provisioningState !== 'Updating') {
        return finish(deps, run, checkpoint, put.value);
      }
      const operation = { url: put.operationUrl ?? '', startedAtInMs: run.nowInMs() };
      checkpoint = { ...checkpoint, operation };
      await run.saveCheckpoint(checkpoint);
      const followed = await followOperation(deps, run, checkpoint, operation);
      if (followed !== 'canceled') return followed;
      checkpoint = { ...checkpoint, operation: undefined };
    } catch (error) {
      const raced =
        error instanceof RemoteServiceError &&
        (error.statusCode === 412 ||
          error.code === 'AnotherOperationInProgress' ||
          error.code === 'PreconditionFailed');
      if (!raced || round + 1 >= MAX_MERGE_ROUNDS) throw error;
      run.log(`NIC ${checkpoint.nicId} changed or is busy (${error.code}); reading it again (round ${round + 2})`);
      if (error.code === 'AnotherOperationInProgress') await run.sleep(deps.pollIntervalInMs);
    }
  }
}

function locateNic(nics: NetworkInterface[], request: AcceptedAttachRequest): NetworkInterface {
  if (request.nic.privateIpAddress) return findNicByAddress(nics, request.nic.privateIpAddress);
  const nicId = request.nic.resourceId ?? '';
  const nic = findNicById(nics, nicId);
  if (!nic) {
    throw new StepError(`Network interface ${nicId} does not exist on the Network Controller.`, {
      code: 'NotFound',
      source: 'NetworkController',
      retryable: false,
    });
  }
  return nic;
}

/**
 * Follows the controller's operation for a bounded time inside this invocation, then hands over to a delayed
 * re-check. Without an operation URL (older controllers) the NIC's provisioningState is followed instead.
 */
async function followOperation(
  deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
  checkpoint: AddIpConfigurationsCheckpoint,
  operation: { url: string; startedAtInMs: number },
): Promise<StepOutcome<AddIpConfigurationsCheckpoint> | 'canceled'> {
  const inlineDeadline = run.nowInMs() + run.inlineWaitInMs;
  for (;;) {
    let state: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
    let nic: NetworkInterface | undefined;
    let failure: { code?: string; message?: string } | undefined;
    if (operation.url) {
      const status = await deps.networkController.getOperation(operation.url, run.options);
      state = status.status;
      failure = status.error;
    } else {
      nic = (await deps.networkController.getNetworkInterface(checkpoint.nicId, run.options)).value;
      const provisioning = nic.properties.provisioningState;
      state = provisioning === 'Updating' ? 'InProgress' : provisioning === 'Failed' ? 'Failed' : 'Succeeded';
    }
    if (state === 'Succeeded') {
      nic ??= (await deps.networkController.getNetworkInterface(checkpoint.nicId, run.options)).value;
      return finish(deps, run, checkpoint, nic);
    }
    if (state === 'Canceled') return 'canceled';
    if (state === 'Failed') {
      const code = failure?.code ?? 'ProvisioningFailed';
      throw new RemoteServiceError(
        failure?.message ?? `Network Controller could not provision NIC ${checkpoint.nicId}.`,
        { source: 'NetworkController', code, retryable: code === 'RetryableError', target: checkpoint.nicId },
      );
    }
    const elapsedInMs = run.nowInMs() - operation.startedAtInMs;
    if (elapsedInMs > deps.operationTimeoutInMs) {
      throw new StepError(
        `Network Controller operation on NIC ${checkpoint.nicId} still InProgress after ${Math.round(elapsedInMs / 1000)} s.`,
        { code: 'OperationTimedOut', source: 'NetworkController', retryable: false },
      );
    }
    if (run.nowInMs() + deps.pollIntervalInMs > inlineDeadline) {
      return {
        kind: 'waiting',
        checkpoint,
        checkAfterInMs: deps.pollIntervalInMs,
        message: `operation ${operation.url}`,
      };
    }
    await run.sleep(deps.pollIntervalInMs);
  }
}

/** Confirms the addresses are on the NIC, reads the host-side state, and builds the step's result. */
function finish(
  _deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
  checkpoint: AddIpConfigurationsCheckpoint,
  nic: NetworkInterface,
): StepOutcome<AddIpConfigurationsCheckpoint> {
  const missing = missingAddresses(nic, checkpoint.addresses, checkpoint.subnetRef);
  if (missing.length > 0) {
    throw new StepError(`NIC ${nic.resourceId} does not hold ${missing.join(', ')} after the update.`, {
      code: 'IpConfigurationsMissing',
      source: 'NetworkController',
      retryable: true,
    });
  }
  const configurationState = nic.properties.configurationState;
  if (configurationState?.status === 'Failure') {
    const first = configurationState.detailedInfo?.[0];
    throw new StepError(
      `NIC ${nic.resourceId} is provisioned but the host reports ${first?.code ?? 'Failure'}: ${first?.message ?? 'no detail'}.`,
      { code: first?.code ?? 'ConfigurationStateFailure', source: 'NetworkController', retryable: false },
    );
  }
  const prefix = parseIpv4Cidr(checkpoint.addressPrefix);
  const result: AttachmentResult = {
    networkInterface: { resourceId: nic.resourceId, resourceRef: nic.resourceRef },
    subnet: {
      resourceRef: checkpoint.subnetRef,
      addressPrefix: checkpoint.addressPrefix,
      gateway: formatIpv4(firstHostAddress(prefix)),
    },
    ipConfigurations: checkpoint.addresses.map((address) => ({
      resourceId: ipConfigurationIdFor(address),
      privateIPAddress: address,
    })),
  };
  run.log(`NIC ${nic.resourceId} holds ${checkpoint.addresses.length} container addresses`);
  return {
    kind: 'succeeded',
    result,
    detail: {
      networkInterface: nic.resourceId,
      addresses: checkpoint.addresses,
      configurationState: configurationState?.status ?? 'Unknown',
    },
  };
}
