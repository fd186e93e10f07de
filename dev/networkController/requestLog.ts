export interface RequestLogEntry {
  time: string;
  method: string;
  path: string;
  query: string;
  status: number;
  clientRequestId: string | null;
  ifMatch: string | null;
  requestBytes: number;
  responseBytes: number;
  durationInMs: number;
}

/** Bounded, so a long benchmark cannot exhaust memory; the oldest entries go first. */
export class RequestLog {
  private entries: RequestLogEntry[] = [];

  constructor(private readonly capacity = 100_000) {}

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity * 1.5) this.entries = this.entries.slice(-this.capacity);
  }

  list(): RequestLogEntry[] {
    return this.entries.slice(-this.capacity);
  }

  clear(): void {
    this.entries = [];
  }
}
