import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import type { ReliabilityStack, RunnerHandle } from './reliabilityStack';

/**
 * A mixed workload over the seeded lab: attachments across tenants on shared NICs (so writes to one NIC race), on
 * both subnets, with explicit ranges, explicit lists and `count`, through the HTTP API and the entry queue. Some
 * attachments are doomed by a permanent fault and must end Failed with that fault's code; every other one must end
 * Completed.
 */
export interface PlannedAttachment {
  tenantId: string;
  attachmentId: string;
  request: AttachRequestInput;
  nicId: string;
  via: 'http' | 'queue';
  /** Set for attachments a permanent fault must fail: the step and the error code it must fail with. */
  doomed?: { step: string; code: string };
  /**
   * Set for attachments the scenario detaches: while their attach is still under way, or once it ended. `doomed`
   * when a permanent fault must fail the detach: the detach step and the code.
   */
  detach?: { when: 'running' | 'ended'; doomed?: { step: string; code: string } };
}

interface Lane {
  nicId: string;
  nic: AttachRequestInput['nic'];
  subnetId: 'Subnet1' | 'Subnet2';
  containerHost: string;
  network: string;
}

const SUBNET_PREFIX = { Subnet1: '192.168.1', Subnet2: '192.168.2' } as const;
/** NICs loaded on top of the seed, in Subnet1 (192.168.1.0/24), holding 192.168.1.(230 + k). */
export const EXTRA_NICS = ['ExtraVM1_Net0', 'ExtraVM2_Net0'] as const;
/** A NIC whose every write the controller fails for good (an operation that ends Failed). */
export const DOOMED_NIC = 'DoomedVM_Net0';
export const DOOMED_NIC_CODE = 'PortProfileRejected';
/** A Hyper-V host whose Arc agent is too old for Run Command: step 1's look ahead fails for good with ArcAgentTooOld. */
export const DOOMED_HOST = 'HV02';

const LANES: Lane[] = [
  {
    nicId: 'ContainerHostVM1_Net0',
    nic: { privateIpAddress: '192.168.1.9' },
    subnetId: 'Subnet1',
    containerHost: 'ContainerHostVM1',
    network: 'Overlay1',
  },
  {
    nicId: 'ContainerHostVM2_Net0',
    nic: { resourceId: 'ContainerHostVM2_Net0' },
    subnetId: 'Subnet1',
    containerHost: 'ContainerHostVM2',
    network: 'Overlay1',
  },
  {
    nicId: 'TenantVM3_Net0',
    nic: { resourceId: 'TenantVM3_Net0' },
    subnetId: 'Subnet2',
    containerHost: 'ContainerHostVM2',
    network: 'Overlay2',
  },
  ...EXTRA_NICS.map((nicId) => ({
    nicId,
    nic: { resourceId: nicId },
    subnetId: 'Subnet1' as const,
    containerHost: 'ContainerHostVM1',
    network: 'Overlay1',
  })),
];

function nicResource(name: string, address: string, mac: string) {
  return {
    resourceRef: `/networkInterfaces/${name}`,
    body: {
      resourceId: name,
      properties: {
        ipConfigurations: [
          {
            resourceId: `${name.replace(/_Net0$/, '')}_IP0`,
            properties: {
              privateIPAddress: address,
              privateIPAllocationMethod: 'Static',
              subnet: { resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1' },
              accessControlList: { resourceRef: '/accessControlLists/AllowAll' },
            },
          },
        ],
        privateMacAddress: mac,
        privateMacAllocationMethod: 'Static',
        isPrimary: true,
        configurationState: { status: 'Success', detailedInfo: [] },
      },
    },
  };
}

/** Loads the extra NICs and the doomed NIC into the controller emulator, and sets up the permanent faults. */
export async function prepareLab(stack: ReliabilityStack): Promise<void> {
  await stack.ncAdmin('POST', '/_emulator/resources', {
    resources: [
      ...EXTRA_NICS.map((name, k) => nicResource(name, `192.168.1.${230 + k}`, `00155D3803${(0x40 + k).toString(16)}`)),
      nicResource(DOOMED_NIC, '192.168.1.250', '00155D38034F'),
    ],
  });
  // First rule: matched before any random fault, on every write to that NIC.
  await stack.ncAdmin('POST', '/_emulator/faults', {
    method: 'PUT',
    path: `^/networkInterfaces/${DOOMED_NIC}$`,
    operation: {
      status: 'Failed',
      error: { code: DOOMED_NIC_CODE, message: `The host rejected the port profile of ${DOOMED_NIC} (injected).` },
    },
  });
  // HV02 is seeded Disconnected (retryable); connected with an old agent it is a permanent refusal.
  await stack.armAdmin('PUT', `/_emulator/machines/${DOOMED_HOST}`, { status: 'Connected', agentVersion: '1.20.0' });
}

/**
 * `count` attachments over `tenants` tenants. Every 7th (from the 3rd) is doomed at the controller, every 7th (from
 * the 6th) at the Hyper-V host; the rest take two addresses each: an explicit range or list from .100 up on their
 * subnet, or (see `countBased`) the two lowest free addresses.
 */
export function planWorkload(options: {
  count: number;
  tenants: number;
  prefix: string;
  /**
   * `every-third`: every third attachment asks for `count: 2`, so several choose free addresses at the same moment
   * (which hits two known bugs, see races.test.ts and faults.test.ts); `one-per-subnet`: only the first such
   * attachment on each subnet does.
   */
  countBased?: 'every-third' | 'one-per-subnet';
  /**
   * Detach every attachment: every third (from the first) while its attach is under way, the others once it ended.
   * Detaching one doomed at the controller writes the doomed NIC again, which fails for good with the same code at
   * removeIpConfigurations.
   */
  detach?: boolean;
}): PlannedAttachment[] {
  const next = { Subnet1: 100, Subnet2: 100 };
  const countUsed = new Set<string>();
  const plan: PlannedAttachment[] = [];
  for (let i = 0; i < options.count; i++) {
    const tenantId = `${options.prefix}-t${i % options.tenants}`;
    const attachmentId = `${options.prefix}-a${i}`;
    const doomedAtController = i % 7 === 2;
    const doomedAtHost = i % 7 === 5;
    const lane = doomedAtController
      ? {
          nicId: DOOMED_NIC,
          nic: { resourceId: DOOMED_NIC },
          subnetId: 'Subnet1' as const,
          containerHost: 'ContainerHostVM1',
          network: 'Overlay1',
        }
      : doomedAtHost
        ? // A NIC whose host the controller does not report: the host check passes, the look ahead meets HV02.
          LANES.find((l) => l.nicId === EXTRA_NICS[0])!
        : LANES[i % LANES.length]!;
    const base = SUBNET_PREFIX[lane.subnetId];
    let containerIps: AttachRequestInput['containerIps'];
    const wantsCount =
      i % 3 === 1 &&
      !doomedAtController &&
      ((options.countBased ?? 'one-per-subnet') === 'every-third' || !countUsed.has(lane.subnetId));
    if (wantsCount) {
      countUsed.add(lane.subnetId);
      containerIps = { count: 2 };
    } else {
      const first = next[lane.subnetId];
      next[lane.subnetId] += 2;
      containerIps =
        i % 2 === 0
          ? { range: { first: `${base}.${first}`, last: `${base}.${first + 1}` } }
          : { addresses: [`${base}.${first}`, `${base}.${first + 1}`] };
    }
    const request: AttachRequestInput = {
      attachmentId,
      networkController: 'default',
      virtualNetworkId: 'VNet1',
      subnetId: lane.subnetId,
      nic: lane.nic,
      accessControlListId: 'AllowAll',
      containerIps,
      hyperVHost: { machineName: doomedAtHost ? DOOMED_HOST : 'HV01' },
      containerHost: { machineName: lane.containerHost },
      network: { name: lane.network, driver: 'l2bridge' },
    };
    plan.push({
      tenantId,
      attachmentId,
      request,
      nicId: lane.nicId,
      via: i % 2 === 0 ? 'http' : 'queue',
      ...(doomedAtController
        ? { doomed: { step: 'addIpConfigurations', code: DOOMED_NIC_CODE } }
        : doomedAtHost
          ? { doomed: { step: 'addIpConfigurations', code: 'ArcAgentTooOld' } }
          : {}),
      ...(options.detach
        ? {
            detach: {
              when: i % 3 === 0 ? ('running' as const) : ('ended' as const),
              ...(doomedAtController ? { doomed: { step: 'removeIpConfigurations', code: DOOMED_NIC_CODE } } : {}),
            },
          }
        : {}),
    });
  }
  return plan;
}

/** Submits every planned attachment: through the HTTP API or straight onto the entry queue. */
export async function submitAll(stack: ReliabilityStack, plan: readonly PlannedAttachment[]): Promise<void> {
  const entry = stack.queues().getQueueClient('attach-requests');
  await entry.createIfNotExists();
  await Promise.all(
    plan.map(async (item) => {
      if (item.via === 'queue') {
        await stack.registerLabTenant(item.tenantId, item.request);
        const text = JSON.stringify({ schemaVersion: 1, tenantId: item.tenantId, ...item.request });
        await entry.sendMessage(Buffer.from(text).toString('base64'));
        return;
      }
      const answer = await stack.api('POST', `/tenants/${item.tenantId}/attachments`, item.request);
      if (answer.status !== 202)
        throw new Error(`submit ${item.attachmentId}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }),
  );
}

/**
 * Asks for the attachment's detach (DELETE), through `via` when given (no retry then); 202 while it detaches (or
 * will), 200 once Detached.
 */
export async function requestDetach(
  stack: ReliabilityStack,
  item: Pick<PlannedAttachment, 'tenantId' | 'attachmentId'>,
  via?: RunnerHandle,
): Promise<void> {
  const answer = await stack.api(
    'DELETE',
    `/tenants/${item.tenantId}/attachments/${item.attachmentId}`,
    undefined,
    via,
  );
  if (answer.status !== 202 && answer.status !== 200)
    throw new Error(`detach ${item.attachmentId}: ${answer.status} ${JSON.stringify(answer.body)}`);
}
