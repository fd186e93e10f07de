import { adminDeps } from '../shared/functionsHost/adminDeps';
import { makeListTenantsHandler } from '../shared/functionsHost/adminHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { ADMIN_ROUTE, registerHttpFunction } from '../shared/functionsHost/functionApp';

registerHttpFunction('listTenants', {
  methods: ['GET'],
  route: ADMIN_ROUTE,
  authLevel: 'function',
  handler: makeListTenantsHandler(() => adminDeps(getDeps())),
});
