import type { AttachmentRecord, HistoryEvent, RuntimeStatus } from './records';

/** A history event to add; its time is the write's unless it happened earlier (a step started before its write). */
export type NewHistoryEvent = Omit<HistoryEvent, 'time'> & { time?: string };

/** What a mutation of a record decides: the new record and the events to add, or no write at all. */
export type RecordMutation = { record: AttachmentRecord; events?: NewHistoryEvent[] } | undefined;

export interface ListAttachmentsOptions {
  runtimeStatus?: readonly RuntimeStatus[];
  pageSize: number;
  continuationToken?: string;
}

export interface AttachmentPage {
  items: AttachmentRecord[];
  continuationToken?: string;
}

/**
 * Per-tenant attachment state. Every write is etag-guarded: `updateAttachment` re-reads and re-applies the
 * mutation when another writer got there first, and a record and its new history events are written together.
 */
export interface StateStore {
  /** Creates the record unless one with the same keys exists; then returns the stored one and `created: false`. */
  createAttachment(
    record: AttachmentRecord,
    events: Omit<HistoryEvent, 'time'>[],
  ): Promise<{ created: boolean; record: AttachmentRecord }>;
  /**
   * The stored record. `recent: true` accepts the record this store last wrote or read, which may be stale: only for
   * a decision that an etag-guarded write confirms afterwards.
   */
  getAttachment(
    tenantId: string,
    attachmentId: string,
    options?: { recent?: boolean },
  ): Promise<AttachmentRecord | undefined>;
  /**
   * Applies `mutate` to the current record until the guarded write wins; undefined when the record is missing.
   * `basedOn`, a record this caller read or wrote with its etag, saves the first read: if it is stale, the write
   * fails its etag check and the next round reads.
   */
  updateAttachment(
    tenantId: string,
    attachmentId: string,
    mutate: (current: AttachmentRecord) => RecordMutation,
    options?: { basedOn?: AttachmentRecord },
  ): Promise<AttachmentRecord | undefined>;
  listAttachments(tenantId: string, options: ListAttachmentsOptions): Promise<AttachmentPage>;
  /**
   * Every tenant's attachments, not Detached, whose request names this container host VM (by machine name, in any
   * case) and this network name: who may still use the Docker network a detach would remove. Machine names alone
   * may match more than one machine; callers narrow by the resolved machine, so the answer errs only on the side of
   * keeping a network.
   */
  listContainerNetworkUsers(machineName: string, networkName: string): Promise<AttachmentRecord[]>;
  /**
   * Every tenant's attachments, not Detached, whose request names this container host VM (by machine name, in any
   * case), whatever their network: who may still use the machine's Private Cloud plugin. Callers narrow by the
   * resolved machine, as for `listContainerNetworkUsers`.
   */
  listContainerHostUsers(machineName: string): Promise<AttachmentRecord[]>;
  listHistory(tenantId: string, attachmentId: string): Promise<HistoryEvent[]>;
}
