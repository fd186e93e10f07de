import { adminDeps } from '../shared/functionsHost/adminDeps';
import { makeGetTenantHandler } from '../shared/functionsHost/adminHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { ADMIN_ROUTE, registerHttpFunction } from '../shared/functionsHost/functionApp';

registerHttpFunction('getTenant', {
  methods: ['GET'],
  route: ADMIN_ROUTE + '/{tenantId}',
  authLevel: 'function',
  handler: makeGetTenantHandler(() => adminDeps(getDeps())),
});
