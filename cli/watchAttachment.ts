import { sleep as defaultSleep } from '../shared/http/sleep';
import { isTerminal } from '../shared/model/records';
import { stepsOf } from '../shared/model/steps';
import type { ApiClient } from './ApiClient';
import type { AttachmentDocument } from './documents';

export interface WatchOptions {
  /** Every status document read, in order (each poll's, changed or not). */
  onDocument: (document: AttachmentDocument) => void;
  /** Ctrl-C: stops the polls (the watch rejects with the signal's reason), never the attachment. */
  signal?: AbortSignal;
  /** The wait when the answer has no `Retry-After` (an ended attach that a detach will pick up); default 2 s. */
  defaultPollInMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DETACH_STEP_NAMES: readonly string[] = stepsOf('detach').map((step) => step.name);

/**
 * Whether the document is final. An attachment with a detach asked for is final only once Detached, or Failed at a
 * detach step: on the way it may show the attach's own end (Canceled at a step boundary) for a moment.
 */
export function hasEnded(document: AttachmentDocument): boolean {
  if (!isTerminal(document.runtimeStatus)) return false;
  if (document.detachSteps === undefined) return true;
  if (document.runtimeStatus === 'Detached') return true;
  return document.runtimeStatus === 'Failed' && DETACH_STEP_NAMES.includes(document.currentStep ?? '');
}

/**
 * Polls the status document until the attachment ends, waiting between polls as long as the API's `Retry-After`
 * says (the API client honours it on 429 and 503 too). Resolves with the last document.
 */
export async function watchAttachment(
  client: ApiClient,
  tenantId: string,
  attachmentId: string,
  options: WatchOptions,
): Promise<AttachmentDocument> {
  const sleep = options.sleep ?? defaultSleep;
  for (;;) {
    const answer = await client.getAttachment(tenantId, attachmentId, { signal: options.signal });
    options.onDocument(answer.body);
    if (hasEnded(answer.body)) return answer.body;
    await sleep(answer.retryAfterInMs ?? options.defaultPollInMs ?? 2_000, options.signal);
  }
}
