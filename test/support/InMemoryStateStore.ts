import { containerHostName } from '../../shared/model/attachRequest';
import type { AttachmentRecord, HistoryEvent } from '../../shared/model/records';
import type { AttachmentPage, ListAttachmentsOptions, RecordMutation, StateStore } from '../../shared/model/StateStore';

/**
 * A real in-memory StateStore with the same etag semantics as the table one: every write checks the etag it read,
 * and `interleave` lets a test slip a competing write in between a read and its write.
 */
export class InMemoryStateStore implements StateStore {
  private readonly rows = new Map<string, { record: AttachmentRecord; etag: number }>();
  private readonly events = new Map<string, HistoryEvent[]>();
  private nextEtag = 1;
  /** Called once between the read and the write of the next update; used to provoke a lost race. */
  interleave?: () => void;
  writes = 0;
  conflicts = 0;

  private key(tenantId: string, attachmentId: string): string {
    return `${tenantId}\u0000${attachmentId}`;
  }

  createAttachment(record: AttachmentRecord, events: Omit<HistoryEvent, 'time'>[]) {
    const key = this.key(record.tenantId, record.attachmentId);
    const existing = this.rows.get(key);
    if (existing) return Promise.resolve({ created: false, record: this.copy(existing) });
    const row = { record: structuredClone({ ...record, eventCount: events.length }), etag: this.nextEtag++ };
    this.rows.set(key, row);
    this.events.set(
      key,
      events.map((e) => ({ time: record.createdTime, ...e })),
    );
    this.writes++;
    return Promise.resolve({ created: true, record: this.copy(row) });
  }

  getAttachment(tenantId: string, attachmentId: string) {
    const row = this.rows.get(this.key(tenantId, attachmentId));
    return Promise.resolve(row ? this.copy(row) : undefined);
  }

  async updateAttachment(
    tenantId: string,
    attachmentId: string,
    mutate: (current: AttachmentRecord) => RecordMutation,
    options: { basedOn?: AttachmentRecord } = {},
  ) {
    const key = this.key(tenantId, attachmentId);
    for (let round = 0; round < 10; round++) {
      const known = round === 0 && options.basedOn?.etag ? structuredClone(options.basedOn) : undefined;
      const current = known ?? (await this.getAttachment(tenantId, attachmentId));
      if (!current) return undefined;
      const mutation = mutate(structuredClone(current));
      if (!mutation) return current;
      const hook = this.interleave;
      this.interleave = undefined;
      hook?.();
      const row = this.rows.get(key);
      if (!row || `"${row.etag}"` !== current.etag) {
        this.conflicts++;
        continue;
      }
      const added = mutation.events ?? [];
      const next = { ...structuredClone(mutation.record), eventCount: current.eventCount + added.length };
      delete next.etag;
      const stored = { record: next, etag: this.nextEtag++ };
      this.rows.set(key, stored);
      this.events.get(key)?.push(...added.map((e) => ({ time: next.lastUpdatedTime, ...e })));
      this.writes++;
      return this.copy(stored);
    }
    throw new Error('conflict');
  }

  listAttachments(tenantId: string, options: ListAttachmentsOptions): Promise<AttachmentPage> {
    const all = [...this.rows.values()]
      .map((row) => this.copy(row))
      .filter((r) => r.tenantId === tenantId)
      .filter((r) => !options.runtimeStatus?.length || options.runtimeStatus.includes(r.runtimeStatus))
      .sort((a, b) => a.attachmentId.localeCompare(b.attachmentId));
    const start = options.continuationToken ? Number(options.continuationToken) : 0;
    const items = all.slice(start, start + options.pageSize);
    const end = start + items.length;
    return Promise.resolve({ items, continuationToken: end < all.length ? String(end) : undefined });
  }

  listContainerNetworkUsers(machineName: string, networkName: string): Promise<AttachmentRecord[]> {
    const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
    return Promise.resolve(
      [...this.rows.values()]
        .map((row) => this.copy(row))
        .filter(
          (r) =>
            r.runtimeStatus !== 'Detached' &&
            same(containerHostName(r.request), machineName) &&
            same(r.request.network.name, networkName),
        ),
    );
  }

  listContainerHostUsers(machineName: string): Promise<AttachmentRecord[]> {
    const wanted = machineName.toLowerCase();
    return Promise.resolve(
      [...this.rows.values()]
        .map((row) => this.copy(row))
        .filter((r) => r.runtimeStatus !== 'Detached' && containerHostName(r.request).toLowerCase() === wanted),
    );
  }

  listHistory(tenantId: string, attachmentId: string): Promise<HistoryEvent[]> {
    return Promise.resolve(structuredClone(this.events.get(this.key(tenantId, attachmentId)) ?? []));
  }

  /** Changes a row's etag at once, as another writer would. */
  touch(tenantId: string, attachmentId: string): void {
    const row = this.rows.get(this.key(tenantId, attachmentId));
    if (row) row.etag = this.nextEtag++;
  }

  private copy(row: { record: AttachmentRecord; etag: number }): AttachmentRecord {
    return { ...structuredClone(row.record), etag: `"${row.etag}"` };
  }
}
