import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { getDeps } from '../shared/functionsHost/deps';
import { registerStorageQueueFunction } from '../shared/functionsHost/functionApp';
import { machineTaskDeps } from '../shared/functionsHost/machineTaskDeps';
import { makeWatchMachineTaskHandler } from '../shared/functionsHost/watchHandler';
import { MACHINE_TASK_WATCH_QUEUE } from '../shared/model/steps';

registerStorageQueueFunction('watchMachineTask', {
  queueName: MACHINE_TASK_WATCH_QUEUE,
  connection: STORAGE_CONNECTION_SETTING,
  handler: makeWatchMachineTaskHandler(() => {
    const app = getDeps();
    return { ...machineTaskDeps(app), nowInMs: app.nowInMs };
  }),
});
