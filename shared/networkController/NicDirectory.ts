import { type AddressHolder, addressHolders } from '../workflow/nicMerge';
import type { NetworkControllerClient, OperationOptions } from './NetworkControllerClient';
import type { AccessControlList, NetworkInterface, VirtualSubnet } from './resources';

/** One read of every NIC on a controller, indexed for the questions step 1 asks. */
export interface NicSnapshot {
  takenAtInMs: number;
  nics: readonly NetworkInterface[];
  byId: ReadonlyMap<string, NetworkInterface>;
  holdersByAddress: ReadonlyMap<string, readonly AddressHolder[]>;
}

export interface NicDirectoryOptions {
  /** How long a NIC list, subnet or ACL read serves later attachments before it is read again. */
  maxAgeInMs: number;
  nowInMs?: () => number;
}

type DirectoryClient = Pick<
  NetworkControllerClient,
  'listNetworkInterfaces' | 'getVirtualSubnet' | 'getAccessControlList'
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

export class NicDirectory {
  private snapshotPromise?: Promise<NicSnapshot>;
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

  /** Records addresses this process just wrote, so the next `count` choice in the same window skips them. */
  noteAddresses(nicId: string, addresses: readonly { address: string; ipConfigurationId: string }[]): void {
    const current = this.snapshotPromise;
    if (!current) return;
    this.snapshotPromise = current.then((snapshot) => {
      const holders = new Map(snapshot.holdersByAddress);
      for (const { address, ipConfigurationId } of addresses) {
        const list = (holders.get(address) ?? []).filter((h) => h.nicId.toLowerCase() !== nicId.toLowerCase());
        holders.set(address, [...list, { nicId, ipConfigurationId }]);
      }
      return { ...snapshot, holdersByAddress: holders };
    });
  }

  /**
   * Reserves addresses an attachment chose, before its write: attachments choosing free addresses at the same
   * moment in this process read the same list, and would otherwise choose the same ones.
   */
  reserveAddresses(addresses: readonly string[], owner: string): void {
    const untilInMs = this.now() + RESERVATION_LIFETIME_IN_MS;
    for (const address of addresses) this.reservations.set(address, { owner, untilInMs });
  }

  releaseAddresses(owner: string): void {
    for (const [address, reservation] of this.reservations)
      if (reservation.owner === owner) this.reservations.delete(address);
  }

  /** Addresses reserved in this process for attachments other than `owner`. */
  reservedAddresses(owner?: string): Set<string> {
    const now = this.now();
    const reserved = new Set<string>();
    for (const [address, reservation] of this.reservations) {
      if (reservation.untilInMs <= now) this.reservations.delete(address);
      else if (reservation.owner !== owner) reserved.add(address);
    }
    return reserved;
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

function index(nics: readonly NetworkInterface[], takenAtInMs: number): NicSnapshot {
  return {
    takenAtInMs,
    nics,
    byId: new Map(nics.map((nic) => [nic.resourceId.toLowerCase(), nic])),
    holdersByAddress: addressHolders(nics),
  };
}
