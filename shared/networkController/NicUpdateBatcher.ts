import { isRemoteServiceError, RemoteServiceError } from '../errors';
import type { NetworkControllerClient, OperationOptions } from './NetworkControllerClient';
import { mergeIpConfigurations, releaseIpConfigurations, writableNic } from './nicMerge';
import type { NetworkInterface } from './resources';

/** What one detaching attachment wants off a NIC: every configuration tagged for it (see releaseIpConfigurations). */
export interface NicRelease {
  /** The detaching attachment (`ownerOf`). */
  release: string;
  guard?: (nic: NetworkInterface) => void;
}

/** One attachment's change to a NIC: addresses to add, or its own configurations to release. */
export type NicChange = NicAddition | NicRelease;

/** What one attachment wants on a NIC. */
export interface NicAddition {
  addresses: readonly string[];
  subnetRef: string;
  aclRef?: string;
  /** The attachment the addresses are for (`ownerOf`); another attachment's address on the NIC is a conflict. */
  owner?: string;
  /**
   * Checked against the NIC as read right before each write (e.g. that it is the tenant's); throwing rejects this
   * addition alone, before anything is written for it.
   */
  guard?: (nic: NetworkInterface) => void;
}

export interface NicUpdateResult {
  /** The NIC as the controller answered the write (or as read, when nothing needed writing). */
  nic: NetworkInterface;
  /** `Azure-AsyncOperation` of the write that carried this addition; absent when nothing was written. */
  operationUrl?: string;
  /** How many attachments' additions travelled in the same PUT. */
  batchSize: number;
}

export interface NicUpdateBatcherOptions {
  /** How long a write to a NIC written in the last two seconds waits for more additions; an idle NIC waits none. */
  windowInMs: number;
  pollIntervalInMs: number;
  stableUuid: (seed: string) => string;
  sleep: (ms: number) => Promise<void>;
  maxMergeRounds?: number;
  /** Longest hold of the next batch while the previous write's operation runs. Default 60 s. */
  maxHoldInMs?: number;
}

/** How long after a write a NIC still counts as busy (in a burst of attachments). */
const BURST_MEMORY_IN_MS = 2_000;

type WriterClient = Pick<NetworkControllerClient, 'getNetworkInterface' | 'putNetworkInterface' | 'getOperation'>;

interface Pending {
  addition: NicChange;
  resolve: (result: NicUpdateResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Merges changes (additions, and releases by detaching attachments) aimed at the same NIC within a short window into one read-merge-PUT, the way Azure CNI batches
 * secondary-IP allocation: fewer writes, and fewer 409/412 rounds between attachments racing for one NIC. Each
 * addition is merged on its own, so one attachment's conflict fails that attachment only.
 */
export class NicUpdateBatcher {
  private readonly pending = new Map<string, Pending[]>();
  /** NICs with a write scheduled or under way. */
  private readonly busy = new Set<string>();
  private readonly lastWriteEndedAtInMs = new Map<string, number>();

  constructor(
    private readonly client: WriterClient,
    private readonly options: NicUpdateBatcherOptions,
  ) {}

  update(nicId: string, addition: NicChange, options: OperationOptions = {}): Promise<NicUpdateResult> {
    const key = nicId.toLowerCase();
    return new Promise<NicUpdateResult>((resolve, reject) => {
      const queue = this.pending.get(key) ?? [];
      queue.push({ addition, resolve, reject });
      this.pending.set(key, queue);
      this.schedule(key, nicId, options);
    });
  }

  /**
   * Group commit: a NIC with no write under way is written after `windowInMs` (0: at once); additions arriving while
   * a write is under way wait for it and go together in the next one.
   */
  private schedule(key: string, nicId: string, options: OperationOptions): void {
    if (this.busy.has(key)) return;
    this.busy.add(key);
    // An idle NIC is written at once; a NIC written a moment ago is in a burst, where waiting a little gathers more.
    const lastWrite = this.lastWriteEndedAtInMs.get(key);
    const inBurst = lastWrite !== undefined && Date.now() - lastWrite < BURST_MEMORY_IN_MS;
    setTimeout(
      () => {
        const batch = this.pending.get(key) ?? [];
        this.pending.delete(key);
        void this.write(nicId, batch, options).finally(() => {
          this.busy.delete(key);
          this.lastWriteEndedAtInMs.set(key, Date.now());
          if (this.pending.has(key)) this.schedule(key, nicId, options);
        });
      },
      inBurst ? this.options.windowInMs : 0,
    );
  }

  private async settle(operationUrl: string, options: OperationOptions): Promise<void> {
    const deadline = Date.now() + (this.options.maxHoldInMs ?? 60_000);
    try {
      while (Date.now() < deadline && (await this.client.getOperation(operationUrl, options)).status === 'InProgress') {
        await this.options.sleep(this.options.pollIntervalInMs);
      }
    } catch {
      // Each attachment follows the operation itself; here it only paces the next write.
    }
  }

  private async write(nicId: string, batch: Pending[], options: OperationOptions): Promise<void> {
    const maxRounds = this.options.maxMergeRounds ?? 6;
    // Another writer's operation (another host, or one of ours that died) may run for minutes; waiting for it is
    // bounded by time, not by rounds, and running out of time is worth a later retry, not a failed attachment.
    const busyDeadline = Date.now() + (this.options.maxHoldInMs ?? 60_000);
    let live = batch;
    try {
      for (let round = 0; ;) {
        const { value: nic, etag } = await this.client.getNetworkInterface(nicId, options);
        let body: NetworkInterface | undefined;
        const accepted: Pending[] = [];
        for (const entry of live) {
          try {
            const change = entry.addition;
            change.guard?.(nic);
            const merged =
              'release' in change
                ? releaseIpConfigurations(body ?? nic, change.release)
                : mergeIpConfigurations({ nic: body ?? nic, ...change });
            body = merged.body ?? body;
            accepted.push(entry);
          } catch (error) {
            entry.reject(error);
          }
        }
        live = accepted;
        if (live.length === 0) return;
        // A NIC whose last provisioning failed holds its configurations without them being in effect; writing it
        // again is how the controller retries.
        if (!body && nic.properties.provisioningState === 'Failed') body = writableNic(nic);
        if (!body) {
          for (const entry of live) entry.resolve({ nic, batchSize: live.length });
          return;
        }
        try {
          const added = live
            .flatMap((e) => ('release' in e.addition ? [`-${e.addition.release}`] : e.addition.addresses))
            .sort()
            .join(',');
          const put = await this.client.putNetworkInterface(nicId, body, {
            ...options,
            ifMatch: etag,
            // The same NIC version and the same additions: the same write, so a replay gets the original answer.
            clientRequestId: this.options.stableUuid(`${nicId.toLowerCase()}/${etag ?? ''}/${added}`),
          });
          for (const entry of live)
            entry.resolve({ nic: put.value, operationUrl: put.operationUrl, batchSize: live.length });
          live = [];
          // The controller refuses another write to this NIC (409) until this one's operation ends: hold the next
          // batch back until then, so it gathers everything that arrives meanwhile into one PUT.
          if (put.operationUrl) await this.settle(put.operationUrl, options);
          return;
        } catch (error) {
          if (!isRemoteServiceError(error)) throw error;
          if (error.code === 'AnotherOperationInProgress') {
            if (Date.now() + this.options.pollIntervalInMs > busyDeadline) {
              throw new RemoteServiceError(
                `${error.message} NIC ${nicId} stayed busy with another operation; the write will be tried again.`,
                {
                  source: error.source,
                  code: error.code,
                  statusCode: error.statusCode,
                  requestId: error.requestId,
                  target: error.target ?? nicId,
                  retryable: true,
                  cause: error,
                },
              );
            }
            await this.options.sleep(this.options.pollIntervalInMs);
            continue;
          }
          const raced = error.statusCode === 412 || error.code === 'PreconditionFailed';
          if (!raced && live.length > 1) {
            // The controller refuses a whole PUT for one addition (an address another NIC took meanwhile): write
            // each addition on its own, so only the one at fault gets the refusal.
            const alone = live;
            live = [];
            for (const entry of alone) await this.write(nicId, [entry], options);
            return;
          }
          if (!raced || ++round >= maxRounds) throw error;
        }
      }
    } catch (error) {
      for (const entry of live) entry.reject(error);
    }
  }
}
