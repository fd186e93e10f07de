import { isKnownError, RemoteServiceError, StepError } from '../errors';
import { tenantVirtualNetworks } from '../model/tenant';
import type { NicDirectory } from '../networkController/NicDirectory';
import { checkNicTenancy, findNicByAddress, ownedAddresses, ownerOf } from '../networkController/nicMerge';
import type { NicUpdateBatcher } from '../networkController/NicUpdateBatcher';
import type { NetworkInterface } from '../networkController/resources';
import type { NetworkControllerApi } from './addIpConfigurations';
import type { StepOutcome, StepRunContext } from './stepTypes';
import type { TenantGuard } from './tenantGuard';

export interface RemoveIpConfigurationsCheckpoint extends Record<string, unknown> {
  nicId?: string;
  operation?: { url: string; startedAtInMs: number };
}

export interface RemoveIpConfigurationsDeps {
  networkController: NetworkControllerApi;
  directory: Pick<NicDirectory, 'network' | 'noteWrite' | 'releaseAddresses'>;
  writer: Pick<NicUpdateBatcher, 'update'>;
  authorize: TenantGuard;
  pollIntervalInMs: number;
  operationTimeoutInMs: number;
}

/**
 * Detach step: takes off the NIC exactly the IP configurations this attachment owns (its owner tag), through the
 * same group-committed, If-Match-guarded writer as step 1. A configuration another attachment or a person owns is
 * never touched; one already gone is success, so a redelivery after the write only confirms.
 */
export async function removeIpConfigurations(
  deps: RemoveIpConfigurationsDeps,
  run: StepRunContext<RemoveIpConfigurationsCheckpoint>,
): Promise<StepOutcome<RemoveIpConfigurationsCheckpoint>> {
  const owner = ownerOf(run.tenantId, run.attachmentId);
  const entry = await deps.authorize(run.tenantId, run.request);
  const tenantNetworks = tenantVirtualNetworks(entry, run.request.networkController);
  const guard = (nic: NetworkInterface) => checkNicTenancy(nic, run.request.virtualNetworkId, tenantNetworks);
  let checkpoint: RemoveIpConfigurationsCheckpoint = run.checkpoint ?? {};
  checkpoint.nicId ??= await locateNic(deps, run);
  if (!checkpoint.nicId) {
    return done(run, {}, 'no network interface was ever written');
  }
  if (checkpoint.operation) return follow(deps, run, checkpoint, owner);

  let update;
  try {
    update = await deps.writer.update(checkpoint.nicId, { release: owner, guard }, run.options);
  } catch (error) {
    if (isNicGone(error)) return done(run, checkpoint, 'the network interface no longer exists');
    throw error;
  }
  // The next choice on this network in this process sees the addresses free, without reading the network again.
  deps.directory.noteWrite(run.request.virtualNetworkId, update.nic);
  deps.directory.releaseAddresses(owner);
  const left = ownedAddresses(update.nic, owner);
  if (!update.operationUrl && update.nic.properties.provisioningState !== 'Updating' && left.length === 0) {
    return done(run, checkpoint, 'nothing of this attachment was left on the NIC');
  }
  checkpoint = { ...checkpoint, operation: { url: update.operationUrl ?? '', startedAtInMs: run.nowInMs() } };
  return follow(deps, run, checkpoint, owner);
}

/**
 * The NIC step 1 wrote, or would have: its result, its checkpoint, the request's NIC id, or the NIC holding the
 * request's address on the request's virtual network. Undefined when there is none (nothing to release).
 */
async function locateNic(
  deps: RemoveIpConfigurationsDeps,
  run: StepRunContext<RemoveIpConfigurationsCheckpoint>,
): Promise<string | undefined> {
  const attachCheckpoint = run.steps.addIpConfigurations.checkpoint as { nicId?: unknown } | undefined;
  const known =
    run.result.networkInterface?.resourceId ??
    (typeof attachCheckpoint?.nicId === 'string' ? attachCheckpoint.nicId : undefined) ??
    run.request.nic.resourceId;
  if (known) return known;
  if (run.steps.addIpConfigurations.attempts === 0) return undefined;
  const address = run.request.nic.privateIpAddress ?? '';
  // Fresh: step 1 may have written since this process last read the network.
  const network = await deps.directory.network(run.request.virtualNetworkId, run.options, true);
  try {
    return findNicByAddress(network, address).resourceId;
  } catch (error) {
    if (!isKnownError(error) || !LOOKUP_MISSES.has(error.code)) throw error;
    // Step 1 stopped before it recorded a NIC (none held the address, or several did, or one does only now): the NIC
    // that carries this attachment's tags, if any, is the one it wrote.
    const owner = ownerOf(run.tenantId, run.attachmentId);
    return network.nics.find((nic) => ownedAddresses(nic, owner).length > 0)?.resourceId;
  }
}

/** Answers of the address lookup that do not name one NIC. */
const LOOKUP_MISSES = new Set(['NetworkInterfaceNotFound', 'AmbiguousNetworkInterface']);

/** A NIC deleted since (its VM with it) holds nothing of this attachment any more. */
function isNicGone(error: unknown): boolean {
  return error instanceof RemoteServiceError && (error.statusCode === 404 || error.code === 'NotFound');
}

/** Follows the write's operation (or the NIC's provisioningState) inline, then hands over to a delayed re-check. */
async function follow(
  deps: RemoveIpConfigurationsDeps,
  run: StepRunContext<RemoveIpConfigurationsCheckpoint>,
  checkpoint: RemoveIpConfigurationsCheckpoint,
  owner: string,
): Promise<StepOutcome<RemoveIpConfigurationsCheckpoint>> {
  const nicId = checkpoint.nicId ?? '';
  const operation = checkpoint.operation ?? { url: '', startedAtInMs: run.nowInMs() };
  const inlineDeadline = run.nowInMs() + run.inlineWaitInMs;
  for (;;) {
    let state: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled' = 'Succeeded';
    let failure: { code?: string; message?: string } | undefined;
    if (operation.url) {
      const status = await deps.networkController.getOperation(operation.url, run.options);
      state = status.status;
      failure = status.error;
    }
    let nic: NetworkInterface;
    try {
      nic = (await deps.networkController.getNetworkInterface(nicId, run.options)).value;
    } catch (error) {
      if (isNicGone(error)) return done(run, checkpoint, 'the network interface no longer exists');
      throw error;
    }
    if (!operation.url) {
      const provisioning = nic.properties.provisioningState;
      state = provisioning === 'Updating' ? 'InProgress' : provisioning === 'Failed' ? 'Failed' : 'Succeeded';
    }
    const left = ownedAddresses(nic, owner);
    if ((state === 'Succeeded' || state === 'Canceled') && left.length === 0) {
      return done(run, checkpoint, undefined);
    }
    if (state !== 'InProgress') {
      // Canceled by a newer write, or Failed: our configurations may still be there, or the NIC is not provisioned.
      // Writing again is the controller's way to retry, and a redelivery does it (the release finds what is left).
      await run.saveCheckpoint({ nicId });
      const code = failure?.code ?? 'IpConfigurationsNotRemoved';
      throw new RemoteServiceError(
        failure?.message ??
          `NIC ${nicId} still holds ${left.join(', ')} of this attachment after the write ended ${state}.`,
        {
          source: 'NetworkController',
          code,
          // As in step 1: an operation the controller ended Failed with a code of its own refuses the write for good,
          // and writing the same NIC again gets the same answer. Its RetryableError, a Canceled operation, or a
          // Failed state seen on the NIC alone (it says nothing of why) are worth another write.
          retryable: !(state === 'Failed' && operation.url && failure?.code !== undefined && code !== 'RetryableError'),
          target: nicId,
        },
      );
    }
    const elapsedInMs = run.nowInMs() - operation.startedAtInMs;
    if (elapsedInMs > deps.operationTimeoutInMs) {
      throw new StepError(
        `Network Controller operation on NIC ${nicId} still InProgress after ${Math.round(elapsedInMs / 1000)} s.`,
        { code: 'OperationTimedOut', source: 'NetworkController', retryable: false },
      );
    }
    if (run.nowInMs() + deps.pollIntervalInMs > inlineDeadline) {
      return {
        kind: 'waiting',
        checkpoint: { ...checkpoint, operation },
        checkAfterInMs: deps.pollIntervalInMs,
        message: `release on NIC ${nicId}`,
      };
    }
    await run.sleep(deps.pollIntervalInMs);
  }
}

function done(
  run: StepRunContext<RemoveIpConfigurationsCheckpoint>,
  checkpoint: RemoveIpConfigurationsCheckpoint,
  note: string | undefined,
): StepOutcome<RemoveIpConfigurationsCheckpoint> {
  // What step 1 recorded as this attachment's: the release took off whichever of them were still tagged for it.
  const addresses = (run.result.ipConfigurations ?? []).map((ipc) => ipc.privateIPAddress);
  run.log(`NIC ${checkpoint.nicId ?? '(none)'} holds nothing of this attachment`);
  return {
    kind: 'succeeded',
    result: {},
    detail: {
      networkInterface: checkpoint.nicId ?? null,
      released: addresses,
      ...(note ? { note } : {}),
    },
  };
}
