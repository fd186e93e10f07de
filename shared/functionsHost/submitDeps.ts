import type { SubmitDeps } from '../api/submitAttachment';
import { newAttachmentId } from '../ids';
import type { AppDeps } from './deps';

/** What accepting an attach request needs, for the HTTP and the queue entry alike. */
export function submitDeps(app: AppDeps): SubmitDeps {
  return {
    store: app.store,
    tenants: app.tenants,
    knownControllers: new Set(app.config.networkControllers.keys()),
    arcDefaults: app.config.arm.defaults,
    guestCredentialsConfigured: app.keyVault !== undefined,
    newAttachmentId,
    nowInMs: app.nowInMs,
  };
}
