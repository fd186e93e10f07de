import { adminDeps } from '../shared/functionsHost/adminDeps';
import { makeDeleteTenantHandler } from '../shared/functionsHost/adminHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { ADMIN_ROUTE, registerHttpFunction } from '../shared/functionsHost/functionApp';

registerHttpFunction('deleteTenant', {
  methods: ['DELETE'],
  route: ADMIN_ROUTE + '/{tenantId}',
  authLevel: 'function',
  handler: makeDeleteTenantHandler(() => adminDeps(getDeps())),
});
