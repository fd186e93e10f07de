import { getDeps } from '../shared/functionsHost/deps';
import { ADMIN_MACHINES_ROUTE, registerHttpFunction } from '../shared/functionsHost/functionApp';
import { makeRemovePrivateCloudPluginHandler, pluginHandlerDeps } from '../shared/functionsHost/pluginHandlers';

registerHttpFunction('removePrivateCloudPlugin', {
  methods: ['POST'],
  route: ADMIN_MACHINES_ROUTE + '/{machineName}/private-cloud-plugin/remove',
  authLevel: 'function',
  handler: makeRemovePrivateCloudPluginHandler(() => pluginHandlerDeps(getDeps())),
});
