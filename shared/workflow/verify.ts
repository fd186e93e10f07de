import { z } from 'zod';

import type { RemoteRunClient } from '../arc/remoteRun';
import { type HostScript, inspectContainerHostScript, inspectHyperVHostScript } from '../arc/scripts';
import { toErrorInfo } from '../errors';
import type { MachineRef } from '../model/machineRef';
import type { AttachmentRecord } from '../model/records';
import { type StepName, stepsOf } from '../model/steps';
import type { ArcDefaults } from '../model/tenant';
import { OWNER_TAG, ownerOf } from '../networkController/nicMerge';
import type { NetworkInterface } from '../networkController/resources';
import { sameResourceRef } from '../networkController/resources';
import { resolveContainerHost, resolveMachine } from './hostSteps';
import { runScriptToEnd, type RunToEndOptions } from './runToEnd';

/** What a verification found of one attach step's effect, read now. */
export interface StepCheck {
  name: StepName;
  /** Intact: all there. Missing: some gone (a repair re-runs the step). NotDone: the step never succeeded. */
  state: 'Intact' | 'Missing' | 'NotDone' | 'Unknown';
  detail: Record<string, unknown>;
}

export interface Verification {
  checkedTime: string;
  /** Every step that succeeded still has its effect. */
  intact: boolean;
  /** The steps a repair re-runs. */
  missing: StepName[];
  steps: StepCheck[];
}

export interface VerifyDeps {
  readNic(networkController: string, nicId: string): Promise<NetworkInterface>;
  /** Runs a read-only inspection script on a machine and answers its result line (reused for a short while). */
  inspect<TInput>(
    machine: MachineRef,
    script: HostScript<string, TInput>,
    input: TInput,
    /** Run it in this VM of `machine` (its Hyper-V host) with PowerShell Direct. */
    guest?: { vmName: string; secretName: string },
  ): Promise<InspectionResult>;
  defaults: ArcDefaults;
  nowInMs: () => number;
}

export type InspectionResult = Record<string, unknown>;

/**
 * Reads the NIC and the machines now and reports, per attach step that succeeded, whether what it made is still
 * there: each IP configuration with its address, subnet, ACL, owner and provisioningState; the network proxy on the
 * Hyper-V host; the plugin registration and the Docker network (subnet and gateway) in the VM. A check that cannot
 * be made is `Unknown` with the reason, and the others are still reported.
 */
export async function verifyAttachment(deps: VerifyDeps, record: AttachmentRecord): Promise<Verification> {
  const request = record.request;
  const done = (step: StepName) => record.steps[step].status === 'Succeeded';
  const guarded = async (name: StepName, check: () => Promise<Omit<StepCheck, 'name'>>): Promise<StepCheck> => {
    if (!done(name)) return { name, state: 'NotDone', detail: {} };
    try {
      return { name, ...(await check()) };
    } catch (error) {
      return { name, state: 'Unknown', detail: { error: toErrorInfo(error) } };
    }
  };
  const host = () => resolveMachine(request.hyperVHost, deps.defaults, 'hyperVHost');
  // One inspection of the VM answers steps 3 and 4.
  let vmInspection: Promise<InspectionResult> | undefined;
  const inspectVm = () => {
    if (vmInspection) return vmInspection;
    const vm = resolveContainerHost(request, deps.defaults);
    vmInspection = deps.inspect(
      vm.machine,
      inspectContainerHostScript,
      { networkName: request.network.name },
      vm.guest,
    );
    return vmInspection;
  };

  const checks = await Promise.all(
    stepsOf('attach').map((definition) => {
      switch (definition.name) {
        case 'addIpConfigurations':
          return guarded(definition.name, () => checkIpConfigurations(deps, record));
        case 'enableNetworkProxy':
          return guarded(definition.name, async () => {
            return checkNetworkProxy(await deps.inspect(host(), inspectHyperVHostScript, {}));
          });
        case 'installPrivateCloudPlugin':
          return guarded(definition.name, async () => {
            const found = await inspectVm();
            return { state: found.pluginInstalled === true ? 'Intact' : 'Missing', detail: pick(found, PLUGIN_KEYS) };
          });
        case 'createContainerNetwork':
          return guarded(definition.name, async () => checkNetwork(record, await inspectVm()));
        default:
          return Promise.resolve<StepCheck>({ name: definition.name, state: 'NotDone', detail: {} });
      }
    }),
  );
  const missing = checks.filter((c) => c.state === 'Missing').map((c) => c.name);
  return {
    checkedTime: new Date(deps.nowInMs()).toISOString(),
    intact: checks.every((c) => c.state === 'Intact' || c.state === 'NotDone'),
    missing,
    steps: checks,
  };
}

const HOST_KEYS = ['networkProxyEnabled', 'registryValues', 'firewallRules', 'firewallBlockRules', 'service'];
const PLUGIN_KEYS = ['pluginInstalled', 'registryValues', 'agentSettings', 'pluginDllPresent', 'service'];

function pick(found: InspectionResult, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in found).map((key) => [key, found[key]]));
}

/** The part of inspect-hyperv-host's result that decides step 2's state; the rest is passed on as detail. */
const hostInspectionSchema = z.looseObject({
  networkProxyEnabled: z.boolean().optional(),
  firewallBlockRules: z.array(z.looseObject({ displayName: z.string() })).optional(),
});

/**
 * Step 2 from an inspect-hyperv-host result. An inbound Block rule on TCP 6642 wins over the Allow rule, so the step
 * is never Intact beside one; it is the hoster's rule, which enable-network-proxy refuses to remove
 * (`PortBlockedByFirewall`), so a repair could not help: reported `Unknown` with the rules named, not `Missing`.
 */
export function checkNetworkProxy(found: InspectionResult): Omit<StepCheck, 'name'> {
  const detail = pick(found, HOST_KEYS);
  const parsed = hostInspectionSchema.safeParse(found);
  if (!parsed.success) return { state: 'Unknown', detail: { ...detail, problems: ['unreadable inspection result'] } };
  const blocking = parsed.data.firewallBlockRules ?? [];
  if (blocking.length > 0) {
    const problems = blocking.map((rule) => `inbound TCP 6642 blocked by firewall rule '${rule.displayName}'`);
    return { state: 'Unknown', detail: { ...detail, problems } };
  }
  return { state: parsed.data.networkProxyEnabled === true ? 'Intact' : 'Missing', detail };
}

async function checkIpConfigurations(deps: VerifyDeps, record: AttachmentRecord): Promise<Omit<StepCheck, 'name'>> {
  const nicId = record.result.networkInterface?.resourceId ?? '';
  const nic = await deps.readNic(record.request.networkController, nicId);
  const owner = ownerOf(record.tenantId, record.attachmentId);
  const subnetRef = record.result.subnet?.resourceRef;
  const aclId = record.request.accessControlListId;
  const addresses = (record.result.ipConfigurations ?? []).map((expected) => {
    const ipc = nic.properties.ipConfigurations.find(
      (c) => c.resourceId.toLowerCase() === expected.resourceId.toLowerCase(),
    );
    const problems: string[] = [];
    if (!ipc) problems.push('gone');
    else {
      if (ipc.properties.privateIPAddress !== expected.privateIPAddress) problems.push('another address');
      if (subnetRef && !sameResourceRef(ipc.properties.subnet?.resourceRef, subnetRef)) problems.push('another subnet');
      if (aclId && !sameResourceRef(ipc.properties.accessControlList?.resourceRef, `/accessControlLists/${aclId}`))
        problems.push('another ACL');
      if (ipc.tags?.[OWNER_TAG] !== undefined && ipc.tags[OWNER_TAG] !== owner) problems.push('another owner');
      if (ipc.properties.provisioningState === 'Failed') problems.push('provisioning Failed');
    }
    return {
      address: expected.privateIPAddress,
      present: ipc !== undefined,
      provisioningState: ipc?.properties.provisioningState ?? null,
      ...(problems.length > 0 ? { problems } : {}),
    };
  });
  const broken = addresses.filter((a) => a.problems !== undefined).length;
  return {
    state: broken === 0 ? 'Intact' : 'Missing',
    detail: {
      networkInterface: nic.resourceId,
      provisioningState: nic.properties.provisioningState ?? null,
      addresses,
    },
  };
}

function checkNetwork(record: AttachmentRecord, found: InspectionResult): Omit<StepCheck, 'name'> {
  const made = record.result.containerNetwork as { subnet?: unknown; gateway?: unknown; driver?: unknown } | undefined;
  const network = (found.network ?? {}) as Record<string, unknown>;
  if (network.present !== true)
    return { state: 'Missing', detail: { network: record.request.network.name, present: false } };
  const problems = (['driver', 'subnet', 'gateway'] as const)
    .filter((key) => made?.[key] !== undefined && network[key] !== made[key])
    .map((key) => `${key} is ${String(network[key])}, not ${String(made?.[key])}`);
  return {
    // A network of that name with other settings is not ours to replace: reported, not repaired.
    state: problems.length === 0 ? 'Intact' : 'Unknown',
    detail: { network, ...(problems.length > 0 ? { problems } : {}) },
  };
}

export type { RunToEndOptions as InspectOptions } from './runToEnd';

/** Runs a read-only script to its end through Run Command, within the caller's budget (see runScriptToEnd). */
export function runInspection<TInput>(
  client: RemoteRunClient,
  machine: MachineRef,
  script: HostScript<string, TInput>,
  input: TInput,
  options: RunToEndOptions,
): Promise<InspectionResult> {
  return runScriptToEnd(client, machine, script, input, {
    purpose: 'verify',
    timeoutCode: 'InspectionTimedOut',
    ...options,
  });
}
