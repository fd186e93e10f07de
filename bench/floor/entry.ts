import { type HttpRequest, type HttpResponseInit, type InvocationContext, output } from '@azure/functions';

import { getConfig, STORAGE_CONNECTION_SETTING } from '../../shared/config';
import { registerHttpFunction, registerStorageQueueFunction } from '../../shared/functionsHost/functionApp';
import { tableClientFor } from '../../shared/state/storageConnection';
import { lazyTableCreation } from '../../shared/state/tableClient';
import { BARE_ROUTE, BARE_STEP_FUNCTION, BARE_SUBMIT_FUNCTION } from './names';

/**
 * The bench's floor: the least a queue-chained app can do per request in this runner, on this Azurite, under the
 * same burst. Loaded into the runner only by the bench (`node --require dist/bench/floor/entry.js`), never part of
 * the product's `functions/`. A bare submit is one table insert and one queue send; a bare step, triggered by that
 * message, is one table write and one queue send. Nothing else: no validation, no tenant, no state machine.
 */
const BARE_QUEUE = 'bench-bare';
const BARE_DONE_QUEUE = 'bench-bare-done';
const BARE_TABLE = 'benchbare';
const PARTITION = 'bare';

const toStep = output.storageQueue({ queueName: BARE_QUEUE, connection: STORAGE_CONNECTION_SETTING });
const toDone = output.storageQueue({ queueName: BARE_DONE_QUEUE, connection: STORAGE_CONNECTION_SETTING });

let table: { client: ReturnType<typeof tableClientFor>; ready: () => Promise<void> } | undefined;
function bareTable() {
  if (table === undefined) {
    const client = tableClientFor(getConfig().storage, BARE_TABLE);
    table = { client, ready: lazyTableCreation(client) };
  }
  return table;
}

registerHttpFunction(BARE_SUBMIT_FUNCTION, {
  methods: ['POST'],
  route: BARE_ROUTE,
  authLevel: 'function',
  extraOutputs: [toStep],
  handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const id = request.params.id ?? '';
    const { client, ready } = bareTable();
    await ready();
    await client.createEntity({ partitionKey: PARTITION, rowKey: id, state: 'submitted' });
    context.extraOutputs.set(toStep, { id });
    return { status: 202, jsonBody: { id } };
  },
});

registerStorageQueueFunction(BARE_STEP_FUNCTION, {
  queueName: BARE_QUEUE,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: [toDone],
  handler: async (message: unknown, context: InvocationContext): Promise<void> => {
    const id = String((message as { id?: unknown }).id);
    const { client } = bareTable();
    await client.upsertEntity({ partitionKey: PARTITION, rowKey: id, state: 'stepped' }, 'Merge');
    context.extraOutputs.set(toDone, { id });
  },
});
