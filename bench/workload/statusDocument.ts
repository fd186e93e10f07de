/** The parts of the public status document (GET /api/tenants/{t}/attachments/{id}) the bench reads. */
export interface StepView {
  name: string;
  status: string;
  attempts: number;
  startedTime: string | null;
  endedTime: string | null;
  detail?: Record<string, unknown>;
  lastError?: { code?: string; message?: string };
}

export interface StatusDocument {
  id: string;
  tenantId: string;
  runtimeStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  steps: StepView[];
  lastError: { code?: string; message?: string } | null;
  result: { ipConfigurations?: { privateIPAddress: string }[] };
}

const TERMINAL = new Set(['Completed', 'Failed', 'Canceled']);

export function isTerminal(document: StatusDocument): boolean {
  return TERMINAL.has(document.runtimeStatus);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape instead of trusting it: the product is being changed while this bench exists. */
export function parseStatusDocument(value: unknown): StatusDocument {
  if (!isRecord(value) || typeof value.id !== 'string' || !Array.isArray(value.steps)) {
    throw new Error(`not a status document: ${JSON.stringify(value).slice(0, 200)}`);
  }
  return value as unknown as StatusDocument;
}

export function ms(iso: string | null | undefined): number | undefined {
  if (iso === null || iso === undefined) return undefined;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? undefined : value;
}
