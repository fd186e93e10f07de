import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { makeAcceptAttachRequestHandler } from '../shared/functionsHost/acceptHandler';
import { getDeps } from '../shared/functionsHost/deps';
import { registerStorageQueueFunction } from '../shared/functionsHost/functionApp';
import { allStepQueueOutputs } from '../shared/functionsHost/stepFunction';
import { submitDeps } from '../shared/functionsHost/submitDeps';
import { ATTACH_REQUESTS_QUEUE, poisonQueueOf } from '../shared/model/steps';

registerStorageQueueFunction('acceptAttachRequest', {
  queueName: ATTACH_REQUESTS_QUEUE,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: allStepQueueOutputs(),
  handler: makeAcceptAttachRequestHandler(() => {
    const app = getDeps();
    return {
      ...submitDeps(app),
      sendToPoison: async (message) => {
        await app.queues.send(poisonQueueOf(ATTACH_REQUESTS_QUEUE), message);
      },
    };
  }),
});
