import { makeAcceptAttachRequestHandler } from '../../../shared/functionsHost/acceptHandler';
import {
  makeCancelAttachmentHandler,
  makeDetachAttachmentHandler,
  makeRetryAttachmentHandler,
} from '../../../shared/functionsHost/controlHandlers';
import { makeGetAttachmentHandler } from '../../../shared/functionsHost/getHandler';
import { makeListAttachmentsHandler } from '../../../shared/functionsHost/listHandler';
import { makeSubmitAttachmentHandler } from '../../../shared/functionsHost/submitHandler';
import { NOW } from '../../support/functionsHost';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { labTenant } from '../../support/tenants';

export interface ErrorBody {
  error: { code: string; message: string; details?: { code: string; target: string; message: string }[] };
}

export function errorOf(jsonBody: unknown): ErrorBody['error'] {
  return (jsonBody as ErrorBody).error;
}

export function targetsOf(jsonBody: unknown): string[] {
  return (errorOf(jsonBody).details ?? []).map((d) => d.target);
}

/** Every HTTP and entry-queue handler over one in-memory store, with a counter for generated ids. */
export const ARC_DEFAULTS = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab' };

export function handlerSet(
  options: {
    newAttachmentId?: () => string;
    controllers?: string[];
    tenants?: InMemoryTenantStore;
    arcDefaults?: { subscriptionId?: string; resourceGroup?: string };
  } = {},
) {
  const store = new InMemoryStateStore();
  // Every tenant these tests name may use the lab; the boundary itself is tested with a registry of its own.
  const tenants = options.tenants ?? new InMemoryTenantStore({ lab: () => labTenant() });
  let generated = 0;
  const newAttachmentId = options.newAttachmentId ?? (() => `generated-${++generated}`);
  const knownControllers = new Set(options.controllers ?? ['default']);
  const poisoned: unknown[] = [];
  const submitDeps = () => ({
    store,
    tenants,
    knownControllers,
    arcDefaults: options.arcDefaults ?? ARC_DEFAULTS,
    newAttachmentId,
    nowInMs: () => NOW,
    retryAfterInSeconds: 2,
  });
  const controlDeps = () => ({ store, nowInMs: () => NOW, retryAfterInSeconds: 2 });
  return {
    store,
    tenants,
    poisoned,
    submit: makeSubmitAttachmentHandler(submitDeps),
    get: makeGetAttachmentHandler(() => ({ store, retryAfterInSeconds: 2 })),
    list: makeListAttachmentsHandler(() => ({ store, pageSizeMax: 100 })),
    cancel: makeCancelAttachmentHandler(controlDeps),
    retry: makeRetryAttachmentHandler(controlDeps),
    detach: makeDetachAttachmentHandler(() => ({
      store,
      tenants,
      arcDefaults: options.arcDefaults ?? ARC_DEFAULTS,
      nowInMs: () => NOW,
      retryAfterInSeconds: 2,
    })),
    accept: makeAcceptAttachRequestHandler(() => ({
      ...submitDeps(),
      sendToPoison: (message) => {
        poisoned.push(message);
        return Promise.resolve();
      },
    })),
  };
}
