import { isRemoteServiceError, RemoteServiceError } from '../errors';
import type { NetworkControllerClient, OperationOptions } from './NetworkControllerClient';
import { type AddressHolder, addressHolders, type NicIndex, virtualNetworkOf } from './nicMerge';
import type { AccessControlList, NetworkInterface, Server, VirtualSubnet } from './resources';

/**
 * What one virtual network holds, read through its subnets' back-references: the subnets, and every NIC with an IP
 * configuration on them, indexed for step 1's questions. Address spaces are per virtual network (HNV), so this is
 * all an address question needs, and it costs the same whatever else the controller holds.
 */
export interface NetworkView extends NicIndex {
  virtualNetworkId: string;
  takenAtInMs: number;
  subnets: readonly VirtualSubnet[];
  /** The NICs the back-references name, as read (a NIC deleted between the two reads is left out). */
  nics: readonly NetworkInterface[];
}

export interface NicDirectoryOptions {
  /** How long a network's read (subnets and their NICs), a subnet, server or ACL read serves later attachments. */
  maxAgeInMs: number;
  nowInMs?: () => number;
  /** NIC reads in flight at once while a network is read. Default 8. */
  readConcurrency?: number;
}

type DirectoryClient = Pick<
  NetworkControllerClient,
  'listVirtualSubnets' | 'getNetworkInterface' | 'getVirtualSubnet' | 'getAccessControlList' | 'getServer'
>;

/**
 * How long an address chosen in this process stays reserved for its attachment: past the write (which may wait
 * for a busy NIC) and the network read after it, which then shows the address on its NIC.
 */
const RESERVATION_LIFETIME_IN_MS = 180_000;

/** How often expired reservations are swept out (each is also ignored once expired). */
const RESERVATION_SWEEP_IN_MS = 10_000;

/** A view this directory may extend with the NICs this process writes. */
interface OwnView extends NetworkView {
  byId: Map<string, NetworkInterface>;
  holdersByAddress: Map<string, AddressHolder[]>;
}

/**
 * A NIC named by a back-reference (`/networkInterfaces/{nic}/ipConfigurations/{ipc}`, any casing). Anything else,
 * or a name a URL path would resolve differently (`.`, `..`) or that carries separators, names no NIC to read.
 */
export function nicIdOfBackReference(resourceRef: string): string | undefined {
  const match = /^\/networkInterfaces\/([^/?#\\\s]+)\/ipConfigurations\/[^/?#\\\s]+\/?$/i.exec(resourceRef);
  const nicId = match?.[1];
  return nicId === undefined || nicId === '.' || nicId === '..' ? undefined : nicId;
}

/**
 * A short-lived, per-process view of a controller's virtual networks, subnets and ACLs. A network is read through
 * its subnets' read-only `ipConfigurations` back-references, then only the NICs they name: the controller has no
 * server-side filter, and listing every NIC would make each tenant pay for every other's. One read serves every
 * attachment on that network for `maxAgeInMs`; callers treat it as a hint and confirm with a read of the one NIC
 * they write, and read the network again before reporting that something is missing or taken.
 */
export class NicDirectory {
  private readonly networks = new Map<string, Promise<OwnView>>();
  /** When each network's read started, to sweep out views no attachment has asked for since they expired. */
  private readonly networkReadAtInMs = new Map<string, number>();
  private nextSweepAtInMs = 0;
  private nextCacheSweepAtInMs = 0;
  private readonly reservations = new Map<string, { owner: string; untilInMs: number }>();
  private readonly reads = new Map<string, { atInMs: number; value: Promise<unknown> }>();
  private readonly now: () => number;

  constructor(
    private readonly client: DirectoryClient,
    private readonly options: NicDirectoryOptions,
  ) {
    this.now = options.nowInMs ?? (() => Date.now());
  }

  /** The cached view of a virtual network, or a new one when it is older than allowed or `refresh` is set. */
  async network(virtualNetworkId: string, options: OperationOptions = {}, refresh = false): Promise<NetworkView> {
    const key = virtualNetworkId.toLowerCase();
    const current = this.networks.get(key);
    if (current && !refresh) {
      const view = await current.catch(() => undefined);
      if (view && this.now() - view.takenAtInMs <= this.options.maxAgeInMs) return view;
      if (this.networks.get(key) !== current) return this.network(virtualNetworkId, options);
    }
    this.sweepExpired();
    const taking = this.readNetwork(virtualNetworkId, options);
    this.networks.set(key, taking);
    this.networkReadAtInMs.set(key, this.now());
    taking.catch(() => {
      if (this.networks.get(key) === taking) {
        this.networks.delete(key);
        this.networkReadAtInMs.delete(key);
      }
    });
    return taking;
  }

  /**
   * One NIC read directly, for a NIC the request names that its network's back-references do not (yet) show: one
   * with no IP configuration on the network, or added since the view was read. Never cached.
   */
  async getNetworkInterface(nicId: string, options: OperationOptions = {}): Promise<NetworkInterface> {
    return (await this.client.getNetworkInterface(nicId, options)).value;
  }

  /**
   * Records a NIC as this process just wrote it (the controller's answer to the PUT), so the next choice on its
   * network in the same window sees its addresses, and no longer sees the ones it gave up. The view is changed in
   * place (callers read it synchronously, between awaits).
   */
  noteWrite(virtualNetworkId: string, nic: NetworkInterface): void {
    const current = this.networks.get(virtualNetworkId.toLowerCase());
    if (!current) return;
    void current.then(
      (view) => {
        const key = nic.resourceId.toLowerCase();
        const previous = view.byId.get(key);
        for (const ipc of previous?.properties.ipConfigurations ?? []) {
          const address = ipc.properties.privateIPAddress;
          if (!address) continue;
          const others = (view.holdersByAddress.get(address) ?? []).filter((h) => h.nicId.toLowerCase() !== key);
          if (others.length > 0) view.holdersByAddress.set(address, others);
          else view.holdersByAddress.delete(address);
        }
        for (const [address, holders] of addressHolders([nic], virtualNetworkId)) {
          const others = (view.holdersByAddress.get(address) ?? []).filter((h) => h.nicId.toLowerCase() !== key);
          view.holdersByAddress.set(address, [...others, ...holders]);
        }
        view.byId.set(key, nic);
      },
      () => undefined,
    );
  }

  /**
   * Reserves addresses an attachment chose, before its write: attachments choosing free addresses at the same
   * moment in this process read the same list, and would otherwise choose the same ones.
   */
  reserveAddresses(addresses: readonly string[], owner: string): void {
    const now = this.now();
    if (now >= this.nextSweepAtInMs) {
      this.nextSweepAtInMs = now + RESERVATION_SWEEP_IN_MS;
      for (const [address, reservation] of this.reservations)
        if (reservation.untilInMs <= now) this.reservations.delete(address);
    }
    for (const address of addresses)
      this.reservations.set(address, { owner, untilInMs: now + RESERVATION_LIFETIME_IN_MS });
  }

  releaseAddresses(owner: string): void {
    for (const [address, reservation] of this.reservations)
      if (reservation.owner === owner) this.reservations.delete(address);
  }

  /** Whether `address` is reserved in this process for an attachment other than `owner`. */
  isReservedForOther(address: string, owner?: string): boolean {
    const reservation = this.reservations.get(address);
    return reservation !== undefined && reservation.untilInMs > this.now() && reservation.owner !== owner;
  }

  /** How many network views and other reads this directory holds (memory grows with these, not with the controller). */
  cacheSize(): { networks: number; reads: number } {
    return { networks: this.networks.size, reads: this.reads.size };
  }

  /** Forgets one network's view (the next question reads it again), or every network's. */
  invalidate(virtualNetworkId?: string): void {
    if (virtualNetworkId === undefined) {
      this.networks.clear();
      this.networkReadAtInMs.clear();
    } else {
      this.networks.delete(virtualNetworkId.toLowerCase());
      this.networkReadAtInMs.delete(virtualNetworkId.toLowerCase());
    }
  }

  getVirtualSubnet(virtualNetworkId: string, subnetId: string, options: OperationOptions = {}): Promise<VirtualSubnet> {
    return this.cachedRead(
      `subnet/${virtualNetworkId}/${subnetId}`.toLowerCase(),
      async () => (await this.client.getVirtualSubnet(virtualNetworkId, subnetId, options)).value,
    );
  }

  /** The server a NIC is placed on, read once per `maxAgeInMs` like subnets and ACLs. */
  getServer(serverRef: string, options: OperationOptions = {}): Promise<Server> {
    return this.cachedRead(
      `server/${serverRef}`.toLowerCase(),
      async () => (await this.client.getServer(serverRef, options)).value,
    );
  }

  getAccessControlList(aclId: string, options: OperationOptions = {}): Promise<AccessControlList> {
    return this.cachedRead(
      `acl/${aclId}`.toLowerCase(),
      async () => (await this.client.getAccessControlList(aclId, options)).value,
    );
  }

  /**
   * Drops expired views and reads, at most once per sweep interval: a process that serves many tenants' networks
   * over a day keeps only those read within the last `maxAgeInMs`, not every one it ever read.
   */
  private sweepExpired(): void {
    const now = this.now();
    if (now < this.nextCacheSweepAtInMs) return;
    this.nextCacheSweepAtInMs = now + RESERVATION_SWEEP_IN_MS;
    for (const [key, atInMs] of this.networkReadAtInMs) {
      if (now - atInMs > this.options.maxAgeInMs) {
        this.networkReadAtInMs.delete(key);
        this.networks.delete(key);
      }
    }
    for (const [key, read] of this.reads) if (now - read.atInMs > this.options.maxAgeInMs) this.reads.delete(key);
  }

  /** Reads a network: its subnets (one request), then each NIC their back-references name, a few at a time. */
  private async readNetwork(virtualNetworkId: string, options: OperationOptions): Promise<OwnView> {
    const takenAtInMs = this.now();
    const subnets = await this.client.listVirtualSubnets(virtualNetworkId, options);
    const nicIds = new Map<string, string>();
    for (const subnet of subnets) {
      for (const { resourceRef } of subnet.properties.ipConfigurations ?? []) {
        // Back-references to anything but a NIC's configuration (a load balancer's, say) name no NIC to read.
        const nicId = nicIdOfBackReference(resourceRef);
        if (nicId !== undefined && !nicIds.has(nicId.toLowerCase())) nicIds.set(nicId.toLowerCase(), nicId);
      }
    }
    const read = await mapConcurrently([...nicIds.values()], this.options.readConcurrency ?? 8, async (nicId) => {
      let nic: NetworkInterface;
      try {
        nic = await this.getNetworkInterface(nicId, options);
      } catch (error) {
        // Deleted between the subnet read and this one: it holds nothing on the network any more.
        if (isNotFound(error)) return undefined;
        throw error;
      }
      if (nic.resourceId.toLowerCase() !== nicId.toLowerCase()) {
        throw new RemoteServiceError(`the controller answered NIC ${nic.resourceId} for ${nicId}`, {
          source: 'NetworkController',
          code: 'UnexpectedResponse',
          retryable: false,
          target: nicId,
        });
      }
      return nic;
    });
    const network = virtualNetworkId.toLowerCase();
    // A NIC moved off the network between the reads is not on it; a request naming it reads it directly.
    const nics = read.filter(
      (nic): nic is NetworkInterface =>
        nic !== undefined &&
        nic.properties.ipConfigurations.some((ipc) => virtualNetworkOf(ipc.properties.subnet?.resourceRef) === network),
    );
    return {
      virtualNetworkId,
      takenAtInMs,
      subnets,
      nics,
      byId: new Map(nics.map((nic) => [nic.resourceId.toLowerCase(), nic])),
      holdersByAddress: addressHolders(nics, network),
    };
  }

  private cachedRead<T>(key: string, read: () => Promise<T>): Promise<T> {
    const cached = this.reads.get(key);
    if (cached && this.now() - cached.atInMs <= this.options.maxAgeInMs) return cached.value as Promise<T>;
    this.sweepExpired();
    const value = read();
    this.reads.set(key, { atInMs: this.now(), value });
    value.catch(() => this.reads.delete(key));
    return value;
  }
}

function isNotFound(error: unknown): boolean {
  return isRemoteServiceError(error) && (error.statusCode === 404 || error.code === 'NotFound');
}

/** `map` with at most `limit` calls in flight; results keep the input's order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await map(items[index] as T);
      } catch (error) {
        // The answer is lost anyway: start no more reads for it.
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
