import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { machineFromRequest, pluginRemovalResponse } from '../api/pluginRemoval';
import { readJsonBody } from '../api/readJsonBody';
import { badRequest } from '../api/responses';
import type { ArcDefaults } from '../model/tenant';
import { type PluginRemovalDeps, removePrivateCloudPlugin, RUN_TIMED_OUT } from '../workflow/pluginRemoval';
import { runScriptToEnd } from '../workflow/runToEnd';
import { type AccessPolicy, operatorOnly } from './access';
import type { AppDeps } from './deps';
import { machineTaskDeps } from './machineTaskDeps';
import { telemetryOf } from './telemetry';

/**
 * How long the request waits for the removal's run. The script restarts hns (up to 60 s) on top of Run Command's
 * own tens of seconds; Azure's front end ends an HTTP request at 230 s.
 */
const REMOVAL_TIMEOUT_IN_MS = 180_000;

export interface PluginHandlerDeps {
  access: AccessPolicy;
  defaults: ArcDefaults;
  removal: Omit<PluginRemovalDeps, 'log'>;
}

/** The removal's deps, from the app's: the machine-task store and watch of steps 2-4, and a run to the end. */
export function pluginHandlerDeps(app: AppDeps): PluginHandlerDeps {
  return {
    access: app.access,
    defaults: app.config.arm.defaults,
    removal: {
      // The task records, wake-ups and watches of steps 2-4.
      ...machineTaskDeps(app),
      containerHostUsers: (machineName) => app.store.listContainerHostUsers(machineName),
      runScript: (machine, script, input) =>
        runScriptToEnd(app.runCommands, machine, script, input, {
          purpose: 'operator',
          timeoutCode: RUN_TIMED_OUT,
          pollIntervalInMs: app.config.arm.pollIntervalInMs,
          timeoutInMs: REMOVAL_TIMEOUT_IN_MS,
          nowInMs: app.nowInMs,
          sleep: app.sleep,
        }),
      stableUuid: app.stableUuid,
      defaults: app.config.arm.defaults,
      nowInMs: app.nowInMs,
    },
  };
}

/**
 * `POST /api/admin/machines/{machineName}/private-cloud-plugin/remove`: the operator removes the Private Cloud
 * plugin registration from a container host VM no attachment uses, and the machine's step 3 record says so.
 */
export function makeRemovePrivateCloudPluginHandler(deps: () => PluginHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const d = deps();
    const refused = operatorOnly(d.access, request, 'A machine’s plugin registration');
    if (refused) return refused;
    const body = await readJsonBody(request, { optional: true });
    if (!body.ok) return badRequest(body.issues, body.code);
    const parsed = machineFromRequest(
      request.params,
      { subscriptionId: request.query.get('subscriptionId'), resourceGroup: request.query.get('resourceGroup') },
      body.value,
      d.defaults,
    );
    if (!parsed.ok) return badRequest(parsed.issues);
    const machine = parsed.machine;
    const outcome = await removePrivateCloudPlugin(
      { ...d.removal, log: (text) => telemetryOf(context).log('info', `[plugin removal] ${text}`) },
      machine,
      d.access.callerId(request),
    );
    telemetryOf(context).log('info', `[plugin removal] ${machine.machineName}: ${outcome.kind}`);
    return pluginRemovalResponse(machine, outcome);
  };
}
