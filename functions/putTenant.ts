import { adminDeps } from '../shared/functionsHost/adminDeps';
import { makePutTenantHandler } from '../shared/functionsHost/adminHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { ADMIN_ROUTE, registerHttpFunction } from '../shared/functionsHost/functionApp';

registerHttpFunction('putTenant', {
  methods: ['PUT'],
  route: ADMIN_ROUTE + '/{tenantId}',
  authLevel: 'function',
  handler: makePutTenantHandler(() => adminDeps(getDeps())),
});
