import { isKnownError, isRemoteServiceError, RemoteServiceError, StepError, ValidationError } from '../errors';
import type { AcceptedAttachRequest } from '../model/attachRequest';
import {
  firstHostAddress,
  formatIpv4,
  ipConfigurationIdFor,
  type Ipv4Prefix,
  isIpv4,
  parseIpv4,
  parseIpv4Cidr,
  prefixContains,
} from '../model/ipv4';
import type { AttachmentResult } from '../model/records';
import { tenantVirtualNetworks } from '../model/tenant';
import type { NetworkControllerClient } from '../networkController/NetworkControllerClient';
import type { NicDirectory } from '../networkController/NicDirectory';
import {
  checkNicTenancy,
  findNicByAddress,
  findNicById,
  mergeIpConfigurations,
  missingAddresses,
  type NicIndex,
  ownerOf,
  resolveContainerAddresses,
} from '../networkController/nicMerge';
import type { NicUpdateBatcher } from '../networkController/NicUpdateBatcher';
import type { NetworkInterface } from '../networkController/resources';
import { aclPath, sameResourceRef, subnetPath } from '../networkController/resources';
import type { StepOutcome, StepRunContext } from './stepTypes';
import type { TenantGuard } from './tenantGuard';

/** The Network Controller calls step 1 makes directly; reads of many NICs and writes go through the two below. */
export type NetworkControllerApi = Pick<NetworkControllerClient, 'getNetworkInterface' | 'getOperation'>;

export interface AddIpConfigurationsCheckpoint extends Record<string, unknown> {
  nicId: string;
  addresses: string[];
  subnetRef: string;
  addressPrefix: string;
  aclRef?: string;
  /** Whether the NIC's VM runs on the request's hyperVHost: `confirmed: …` or `unknown: …` (a mismatch fails). */
  hostCheck?: string;
  /** What the look ahead found of each machine of steps 2-4, by request field. */
  machines?: Record<string, string>;
  operation?: { url: string; startedAtInMs: number };
}

export interface AddIpConfigurationsDeps {
  networkController: NetworkControllerApi;
  directory: Pick<
    NicDirectory,
    | 'network'
    | 'getNetworkInterface'
    | 'getVirtualSubnet'
    | 'getAccessControlList'
    | 'getServer'
    | 'noteWrite'
    | 'invalidate'
    | 'reserveAddresses'
    | 'releaseAddresses'
    | 'isReservedForOther'
  >;
  writer: Pick<NicUpdateBatcher, 'update'>;
  /** The tenant registry's check, made at every delivery before anything is written. */
  authorize: TenantGuard;
  /** The look ahead at the machines of steps 2-4 (see preflightMachines), before anything is written. */
  preflight: (request: AcceptedAttachRequest) => Promise<Record<string, string>>;
  pollIntervalInMs: number;
  operationTimeoutInMs: number;
}

/** Rounds of write-and-follow when another writer's PUT cancels ours. */
const MAX_WRITE_ROUNDS = 6;

/**
 * Step 1: add one static IP configuration per container address to the tenant VM's NIC. Resumable: free addresses
 * chosen and an operation handed over to a re-check are checkpointed, and the NIC's owner tags tell a redelivery
 * what it already wrote, so it continues rather than choosing or writing again.
 */
export async function addIpConfigurations(
  deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
): Promise<StepOutcome<AddIpConfigurationsCheckpoint>> {
  const owner = ownerOf(run.tenantId, run.attachmentId);
  const entry = await deps.authorize(run.tenantId, run.request);
  const tenantNetworks = tenantVirtualNetworks(entry, run.request.networkController);
  // Checked on the NIC as read right before every write: it must be the tenant's, on the request's network.
  const guard = (nic: NetworkInterface) => checkNicTenancy(nic, run.request.virtualNetworkId, tenantNetworks);
  let checkpoint = run.checkpoint;
  if (checkpoint?.operation) {
    const followed = await followOperation(deps, run, checkpoint, checkpoint.operation);
    if (followed !== 'canceled') return followed;
    checkpoint = withoutOperation(checkpoint);
  }
  // An empty checkpoint is one a step cleared on purpose, to choose again.
  if (!checkpoint?.nicId) {
    const chosen = await chooseAddresses(deps, run, owner, guard);
    checkpoint = { ...chosen.checkpoint, hostCheck: await checkHost(deps, run, chosen.nic) };
    // Everything steps 2-4 need is looked at before the NIC changes: a request that could not complete fails now.
    checkpoint = { ...checkpoint, machines: await deps.preflight(run.request) };
    // Free addresses are saved before any write: a redelivery must reuse them, not pick the next free ones. Named
    // addresses are chosen the same way every time, and a redelivery after our write finds them on the NIC tagged
    // as ours, so they need no state write of their own.
    if (run.request.containerIps.count !== undefined) await run.saveCheckpoint(checkpoint);
  }

  for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
    let update;
    try {
      update = await deps.writer.update(
        checkpoint.nicId,
        { addresses: checkpoint.addresses, subnetRef: checkpoint.subnetRef, aclRef: checkpoint.aclRef, owner, guard },
        run.options,
      );
    } catch (error) {
      if (
        run.request.containerIps.count !== undefined &&
        isKnownError(error) &&
        error.code === 'PrivateIPAddressInUse'
      ) {
        // Another writer took a free address we chose from a cached read: choose again from a fresh one.
        deps.directory.invalidate(run.request.virtualNetworkId);
        deps.directory.releaseAddresses(owner);
        await run.saveCheckpoint({} as AddIpConfigurationsCheckpoint);
        throw new StepError(`${error.message} Choosing other free addresses on the next attempt.`, {
          code: 'PrivateIPAddressInUse',
          source: 'NetworkController',
          retryable: true,
          cause: error,
        });
      }
      throw error;
    }
    // The next choice on this network in this process sees what the NIC holds now, without reading it again.
    deps.directory.noteWrite(run.request.virtualNetworkId, update.nic);
    if (!update.operationUrl && update.nic.properties.provisioningState !== 'Updating') {
      return finish(run, checkpoint, update.nic, owner);
    }
    // The operation is stored only if this invocation hands over to a delayed re-check (the waiting outcome carries
    // it); a redelivery after a crash writes again, which finds the addresses ours and follows the NIC instead.
    const operation = { url: update.operationUrl ?? '', startedAtInMs: run.nowInMs() };
    checkpoint = { ...checkpoint, operation };
    if (update.batchSize > 1)
      run.log(`NIC ${checkpoint.nicId} written together with ${update.batchSize - 1} other attachment(s)`);
    const followed = await followOperation(deps, run, checkpoint, operation);
    if (followed !== 'canceled') return followed;
    run.log(`the controller canceled the write to NIC ${checkpoint.nicId} for a newer one; writing again`);
    checkpoint = withoutOperation(checkpoint);
  }
  throw new StepError(`Writes to NIC ${checkpoint.nicId} kept being canceled by other writers.`, {
    code: 'Canceled',
    source: 'NetworkController',
    retryable: true,
  });
}

/**
 * Reads the request's virtual network (its subnets and the NICs their back-references name, cached per network),
 * and the ACL, finds the NIC and the addresses, and checks no other NIC on the network holds them. A cached read is
 * only trusted for what it confirms: before reporting a NIC missing or an address taken, the network is read again.
 * A NIC the request names that the network does not show (not on it yet, or added since) is read directly.
 */
async function chooseAddresses(
  deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
  owner: string,
  guard: (nic: NetworkInterface) => void,
): Promise<{ checkpoint: AddIpConfigurationsCheckpoint; nic: NetworkInterface }> {
  const request = run.request;
  // Every address question is asked within the request's virtual network: address spaces are per network.
  let network = await deps.directory.network(request.virtualNetworkId, run.options);
  const subnetKey = request.subnetId.toLowerCase();
  const subnet =
    network.subnets.find((s) => s.resourceId.toLowerCase() === subnetKey) ??
    (await deps.directory.getVirtualSubnet(request.virtualNetworkId, request.subnetId, run.options));
  const addressPrefix = subnet.properties.addressPrefix;
  const prefix = parseIpv4Cidr(addressPrefix);
  const subnetAclRef = subnet.properties.accessControlList?.resourceRef;
  // An ACL's GET carries back-references to every configuration using it, across tenants: a shared one would cost
  // as much as the controller. The one the subnet already names exists; only another one is read to make sure.
  const aclRef = request.accessControlListId
    ? sameResourceRef(subnetAclRef, aclPath(request.accessControlListId))
      ? subnetAclRef
      : ((await deps.directory.getAccessControlList(request.accessControlListId, run.options)).resourceRef ??
        aclPath(request.accessControlListId))
    : subnetAclRef;
  const subnetRef = subnet.resourceRef ?? subnetPath(request.virtualNetworkId, request.subnetId);
  checkGateway(request.network.gateway, prefix, addressPrefix);

  let fresh = false;
  for (;;) {
    if (fresh) network = await deps.directory.network(request.virtualNetworkId, run.options, true);
    const named = request.nic.resourceId;
    const direct =
      named !== undefined && !network.byId.has(named.toLowerCase()) ? await readNamedNic(deps, run, named) : undefined;
    // From here to the reservation nothing awaits, so no other attachment in this process chooses in between.
    try {
      const nic = direct ?? locateNic(network, request);
      guard(nic);
      const addresses = resolveContainerAddresses(
        request.containerIps,
        prefix,
        request.subnetId,
        (address) => network.holdersByAddress.has(address) || deps.directory.isReservedForOther(address, owner),
      );
      mergeIpConfigurations({ nic, addresses, subnetRef, aclRef, holders: network.holdersByAddress, owner });
      deps.directory.reserveAddresses(addresses, owner);
      return {
        checkpoint: { nicId: nic.resourceId, addresses, subnetRef, addressPrefix, ...(aclRef ? { aclRef } : {}) },
        nic,
      };
    } catch (error) {
      const maybeStale = error instanceof StepError && STALE_READ_CODES.has(error.code);
      if (fresh || !maybeStale) throw error;
      fresh = true;
    }
  }
}

/** The NIC the request names, read directly: a 404 is the request's mistake, not a stale read. */
async function readNamedNic(
  deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
  nicId: string,
): Promise<NetworkInterface> {
  try {
    return await deps.directory.getNetworkInterface(nicId, run.options);
  } catch (error) {
    if (isRemoteServiceError(error) && (error.statusCode === 404 || error.code === 'NotFound')) {
      throw new StepError(`Network interface ${nicId} does not exist on the Network Controller.`, {
        code: 'NotFound',
        source: 'NetworkController',
        retryable: false,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Steps 2-3 configure the request's hyperVHost for this VM: where the controller says which host the NIC is placed
 * on (`properties.server`, whose management addresses name the machine), a different host fails the step before
 * anything is written, instead of configuring the wrong machine. Where it cannot say, the step goes on and says so.
 */
async function checkHost(
  deps: AddIpConfigurationsDeps,
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
  nic: NetworkInterface,
): Promise<string> {
  const nicId = nic.resourceId;
  const serverRef = nic.properties.server?.resourceRef;
  if (!serverRef) return 'unknown: the controller reports no server for the NIC';
  let server;
  try {
    server = await deps.directory.getServer(serverRef, run.options);
  } catch (error) {
    if (isKnownError(error) && !error.retryable) return `unknown: ${serverRef} could not be read (${error.code})`;
    throw error;
  }
  const names = (server.properties.connections ?? [])
    .flatMap((connection) => connection.managementAddresses ?? [])
    .filter((address) => !isIpv4(address) && !address.includes(':'))
    .map((address) => (address.split('.')[0] ?? '').toLowerCase());
  if (names.length === 0) return `unknown: ${serverRef} lists no host name`;
  const wanted = run.request.hyperVHost.machineName;
  if (!names.includes(wanted.toLowerCase())) {
    throw new StepError(
      `The VM of NIC ${nicId} runs on ${[...new Set(names)].join(', ')} (${serverRef}), not on ${wanted}; hyperVHost must be the host that runs the VM.`,
      { code: 'HostDoesNotRunVm', retryable: false },
    );
  }
  return `confirmed: ${serverRef}`;
}

/** Step 4 creates the network on this subnet: a gateway outside it would fail there, after steps 1-3 changed things. */
function checkGateway(gateway: string | undefined, prefix: Ipv4Prefix, addressPrefix: string): void {
  if (gateway === undefined) return;
  const value = parseIpv4(gateway);
  if (!prefixContains(prefix, value) || value === prefix.network || value === prefix.broadcast) {
    throw new ValidationError(
      [{ field: 'network.gateway', reason: `${gateway} is not a host address of the subnet ${addressPrefix}` }],
      { code: 'InvalidGateway' },
    );
  }
}

/** Answers a cached network read can get wrong; they are checked against a fresh read before they are believed. */
const STALE_READ_CODES = new Set([
  'NetworkInterfaceNotFound',
  'AmbiguousNetworkInterface',
  'PrivateIPAddressInUse',
  'SubnetIsFull',
]);

/** The NIC holding the VM's address on the request's network, or the named NIC when the network shows it. */
function locateNic(network: NicIndex, request: AcceptedAttachRequest): NetworkInterface {
  if (request.nic.privateIpAddress) return findNicByAddress(network, request.nic.privateIpAddress);
  const nicId = request.nic.resourceId ?? '';
  const nic = findNicById(network, nicId);
  if (!nic) {
    throw new StepError(`Network interface ${nicId} is not on virtual network ${request.virtualNetworkId}.`, {
      code: 'NetworkInterfaceNotFound',
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
      return finish(run, checkpoint, nic, ownerOf(run.tenantId, run.attachmentId));
    }
    if (state === 'Canceled') return 'canceled';
    if (state === 'Failed') {
      const code = failure?.code ?? 'ProvisioningFailed';
      // The controller's way to retry a failed provisioning is to write the resource again: forget the spent
      // operation so the next attempt writes instead of reading the same failure back.
      await run.saveCheckpoint(withoutOperation(checkpoint));
      throw new RemoteServiceError(
        failure?.message ?? `Network Controller could not provision NIC ${checkpoint.nicId}.`,
        {
          source: 'NetworkController',
          code,
          // Followed through the NIC (no operation URL, or a redelivery that did not keep it), a Failed state says
          // nothing of why: it may be another writer's transient failure, so the NIC is written again, within the
          // bounded retries, as with the controller's own RetryableError.
          retryable: code === 'RetryableError' || !operation.url,
          target: checkpoint.nicId,
        },
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

function withoutOperation(checkpoint: AddIpConfigurationsCheckpoint): AddIpConfigurationsCheckpoint {
  const copy = { ...checkpoint };
  delete copy.operation;
  return copy;
}

/** Confirms the addresses are on the NIC, reads the host-side state, and builds the step's result. */
async function finish(
  run: StepRunContext<AddIpConfigurationsCheckpoint>,
  checkpoint: AddIpConfigurationsCheckpoint,
  nic: NetworkInterface,
  owner: string,
): Promise<StepOutcome<AddIpConfigurationsCheckpoint>> {
  if (nic.properties.provisioningState === 'Failed') {
    if (checkpoint.operation) await run.saveCheckpoint(withoutOperation(checkpoint));
    // Our addresses are on the NIC, but a later write (ours or another's) failed to provision, so they may not be in
    // effect on the host. The writer writes a Failed NIC again, which is how the controller retries; attempts stay
    // bounded by the queue's dequeue count.
    throw new RemoteServiceError(`Network Controller could not provision NIC ${nic.resourceId}; writing it again.`, {
      source: 'NetworkController',
      code: 'ProvisioningFailed',
      retryable: true,
      target: nic.resourceId,
    });
  }
  const missing = missingAddresses(nic, checkpoint.addresses, checkpoint.subnetRef, owner);
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
      hyperVHost: checkpoint.hostCheck ?? 'unknown: not checked',
      ...(checkpoint.machines ? { machines: checkpoint.machines } : {}),
    },
  };
}
