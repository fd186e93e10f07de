import type { AdminDeps } from './adminHandlers';
import type { AppDeps } from './deps';

/** What the admin API's handlers need, from the app's dependencies. */
export function adminDeps(app: AppDeps): AdminDeps {
  return { tenants: app.tenants, store: app.store, access: app.access, pageSizeMax: app.config.http.listPageSizeMax };
}
