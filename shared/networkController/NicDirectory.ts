import type { NetworkControllerClient, OperationOptions } from './NetworkControllerClient';
import { type AddressHolder, addressHolders, type NicIndex } from './nicMerge';
import type { AccessControlList, NetworkInterface, Server, VirtualSubnet } from './resources';

/**
 * One read of the controller's NICs. Address questions are asked of one virtual network at a time (`network`):
 * address spaces are per virtual network, so an address on another tenant's network is neither found nor in use.
 */
export interface NicSnapshot {
  takenAtInMs: number;
  nics: readonly NetworkInterface[];
  byId: NicIndex['byId'];
  network(virtualNetworkId: string): NicIndex;
}

export interface NicDirectoryOptions {
  /** How long a NIC list, subnet or ACL read serves later attachments before it is read again. */
  maxAgeInMs: number;
  nowInMs?: () => number;
}

type DirectoryClient = Pick<
  NetworkControllerClient,
  'listNetworkInterfaces' | 'getVirtualSubnet' | 'getAccessControlList' | 'getServer'
>;

/**
 * A short-lived, per-process view of a controller's NICs, subnets and ACLs. Listing every NIC is the expensive
 * read (the controller has no server-side filter), so one list serves every attachment for `maxAgeInMs`; callers
 * treat it as a hint and confirm with a read of the one NIC they write, and refresh it before reporting that
 * something is missing or taken.
 */
/**
 * How long an address chosen in this process stays reserved for its attachment: past the write (which may wait
 * for a busy NIC) and the list read after it, which then shows the address on its NIC.
 */
const RESERVATION_LIFETIME_IN_MS = 180_000;

/** How often expired reservations are swept out (each is also ignored once expired). */
const RESERVATION_SWEEP_IN_MS = 10_000;

/** A snapshot whose per-network address indexes this directory may extend with the addresses this process writes. */
interface OwnSnapshot extends NicSnapshot {
  networks: Map<string, Map<string, AddressHolder[]>>;
}

export class NicDirectory {
  private snapshotPromise?: Promise<OwnSnapshot>;
  private nextSweepAtInMs = 0;
  private readonly reservations = new Map<string, { owner: string; untilInMs: number }>();
  private readonly reads = new Map<string, { atInMs: number; value: Promise<unknown> }>();
  private readonly now: () => number;

  constructor(
    private readonly client: DirectoryClient,
    private readonly options: NicDirectoryOptions,
  ) {
    this.now = options.nowInMs ?? (() => Date.now());
  }

  /** The cached snapshot, or a new one when it is older than allowed or `refresh` is set. */
  async snapshot(options: OperationOptions = {}, refresh = false): Promise<NicSnapshot> {
    const current = this.snapshotPromise;
    if (current && !refresh) {
      const snapshot = await current.catch(() => undefined);
      if (snapshot && this.now() - snapshot.takenAtInMs <= this.options.maxAgeInMs) return snapshot;
      if (this.snapshotPromise !== current) return this.snapshot(options);
    }
    const taking = this.client.listNetworkInterfaces(options).then((nics) => index(nics, this.now()));
    this.snapshotPromise = taking;
    taking.catch(() => {
      if (this.snapshotPromise === taking) this.snapshotPromise = undefined;
    });
    return taking;
  }

  /**
   * Records addresses this process just wrote, so the next `count` choice in the same window skips them. The
   * snapshot's index is extended in place (callers read it synchronously, between awaits): copying it per write
   * would cost every attachment the size of the controller.
   */
  noteAddresses(
    nicId: string,
    virtualNetworkId: string,
    addresses: readonly { address: string; ipConfigurationId: string }[],
  ): void {
    const current = this.snapshotPromise;
    if (!current) return;
    void current.then(
      (snapshot) => {
        const holdersByAddress = snapshot.networks.get(virtualNetworkId.toLowerCase());
        // Not indexed yet: the index, when built, is built from the list, which does not show these yet.
        if (!holdersByAddress) return;
        for (const { address, ipConfigurationId } of addresses) {
          const others = (holdersByAddress.get(address) ?? []).filter(
            (h) => h.nicId.toLowerCase() !== nicId.toLowerCase(),
          );
          holdersByAddress.set(address, [...others, { nicId, ipConfigurationId }]);
        }
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

  invalidate(): void {
    this.snapshotPromise = undefined;
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

  private cachedRead<T>(key: string, read: () => Promise<T>): Promise<T> {
    const cached = this.reads.get(key);
    if (cached && this.now() - cached.atInMs <= this.options.maxAgeInMs) return cached.value as Promise<T>;
    const value = read();
    this.reads.set(key, { atInMs: this.now(), value });
    value.catch(() => this.reads.delete(key));
    return value;
  }
}

function index(nics: readonly NetworkInterface[], takenAtInMs: number): OwnSnapshot {
  const byId = new Map(nics.map((nic) => [nic.resourceId.toLowerCase(), nic]));
  const networks = new Map<string, Map<string, AddressHolder[]>>();
  return {
    takenAtInMs,
    nics,
    byId,
    networks,
    network(virtualNetworkId) {
      const key = virtualNetworkId.toLowerCase();
      let holders = networks.get(key);
      if (!holders) {
        holders = addressHolders(nics, key);
        networks.set(key, holders);
      }
      return { byId, holdersByAddress: holders };
    },
  };
}
