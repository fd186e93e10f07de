import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { getDeps } from '../shared/functionsHost/deps';
import { registerStorageQueueFunction } from '../shared/functionsHost/functionApp';
import { makeFailPoisonedStepHandler } from '../shared/functionsHost/poisonHandler';
import { allStepQueueOutputs } from '../shared/functionsHost/stepFunction';
import { poisonQueueOf, STEPS } from '../shared/model/steps';

for (const step of STEPS) {
  registerStorageQueueFunction(`${step.name}Poison`, {
    queueName: poisonQueueOf(step.queueName),
    connection: STORAGE_CONNECTION_SETTING,
    extraOutputs: allStepQueueOutputs(),
    handler: makeFailPoisonedStepHandler(() => getDeps()),
  });
  registerStorageQueueFunction(`${step.name}RechecksPoison`, {
    queueName: poisonQueueOf(step.recheckQueueName),
    connection: STORAGE_CONNECTION_SETTING,
    extraOutputs: allStepQueueOutputs(),
    handler: makeFailPoisonedStepHandler(() => getDeps()),
  });
}
