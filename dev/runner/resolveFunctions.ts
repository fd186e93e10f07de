import { type FunctionOutput, trigger as triggers } from '@azure/functions';

import type { FunctionRegistration } from '../../shared/functionsHost/functionApp';
import type { HttpFunction } from './httpHost';
import type { LineWriter } from './invocationLog';
import type { QueueFunction } from './queueMessageHandler';
import type { QueueOutputTarget } from './queueOutputs';
import {
  poisonQueueNameFor,
  type QueueAccounts,
  resolveConnection,
  resolveQueueName,
  type Settings,
} from './queueStorage';
import { compileRoute } from './routes';

export interface ResolveOptions {
  accounts: QueueAccounts;
  settings: Settings;
  routePrefix: string;
  write: LineWriter;
  /** What is expected and only worth reading when asked for (`--verbose`); warnings go to `write`. */
  detail?: LineWriter;
}

export interface ResolvedFunctions {
  queueFunctions: QueueFunction[];
  httpFunctions: HttpFunction[];
}

function isQueueOutput(binding: FunctionOutput): boolean {
  return binding.type.toLowerCase() === 'queue';
}

function stringOption(binding: Record<string, unknown>, key: string, functionName: string): string {
  const value = binding[key];
  if (typeof value !== 'string' || value === '') {
    throw new Error(`Function '${functionName}': binding '${String(binding.name)}' has no ${key}.`);
  }
  return value;
}

/** Resolves every queue output binding (and a queue `return` binding) to its queue; warns about the rest. */
function outputTargets(
  functionName: string,
  extraOutputs: readonly FunctionOutput[],
  returnBinding: FunctionOutput | undefined,
  options: ResolveOptions,
): QueueOutputTarget[] {
  const targets: QueueOutputTarget[] = [];
  const bindings = [
    ...extraOutputs.map((binding) => ({ binding, fromReturnValue: false })),
    ...(returnBinding ? [{ binding: returnBinding, fromReturnValue: true }] : []),
  ];
  for (const { binding, fromReturnValue } of bindings) {
    if (isQueueOutput(binding)) {
      const connection = resolveConnection(binding.connection as string | undefined, options.settings);
      const queueName = resolveQueueName(stringOption(binding, 'queueName', functionName), options.settings);
      targets.push({ binding, queue: options.accounts.queue(connection, queueName), fromReturnValue });
    } else if (!(fromReturnValue && binding.type.toLowerCase() === 'http')) {
      options.write(
        `Function '${functionName}': output binding '${binding.name}' of type '${binding.type}' is not supported by ` +
          `the local runner; its value is ignored.`,
      );
    }
  }
  return targets;
}

function warnAboutInputs(functionName: string, extraInputs: readonly unknown[] | undefined, write: LineWriter): void {
  if (extraInputs && extraInputs.length > 0) {
    write(
      `Function '${functionName}': extra input bindings are not supported by the local runner; they read as undefined.`,
    );
  }
}

function resolveQueueFunction(
  registration: Extract<FunctionRegistration, { kind: 'storageQueue' }>,
  options: ResolveOptions,
): QueueFunction {
  const { name, options: fnOptions } = registration;
  const trigger =
    fnOptions.trigger ?? triggers.storageQueue({ queueName: fnOptions.queueName, connection: fnOptions.connection });
  const connection = resolveConnection(trigger.connection, options.settings);
  const queueName = resolveQueueName(trigger.queueName, options.settings);
  const poisonName = poisonQueueNameFor(queueName);
  if (!poisonName) {
    // A function on a poison queue is the app's design (it marks attachments Failed); a name too long is a mistake.
    const isPoison = queueName.toLowerCase().endsWith('-poison');
    (isPoison ? (options.detail ?? options.write) : options.write)(
      `Function '${name}': queue '${queueName}' ${isPoison ? 'is itself a poison queue' : 'is too long for a poison queue'}, ` +
        `so (as in the host) its failed messages stay invisible until their lease ends instead of being retried or moved.`,
    );
  }
  warnAboutInputs(name, fnOptions.extraInputs, options.write);
  const extraOutputs = fnOptions.extraOutputs ?? [];
  return {
    functionName: name,
    queue: options.accounts.queue(connection, queueName),
    poisonQueue: poisonName ? options.accounts.queue(connection, poisonName) : undefined,
    handler: fnOptions.handler,
    trigger,
    returnBinding: fnOptions.return,
    extraOutputs,
    outputTargets: outputTargets(name, extraOutputs, fnOptions.return, options),
  };
}

function resolveHttpFunction(
  registration: Extract<FunctionRegistration, { kind: 'http' }>,
  options: ResolveOptions,
): HttpFunction {
  const { name, options: fnOptions } = registration;
  const trigger =
    fnOptions.trigger ??
    triggers.http({ authLevel: fnOptions.authLevel, methods: fnOptions.methods, route: fnOptions.route });
  warnAboutInputs(name, fnOptions.extraInputs, options.write);
  const extraOutputs = fnOptions.extraOutputs ?? [];
  return {
    functionName: name,
    // Without a route the host serves the function under its own name.
    route: compileRoute(trigger.route ?? name, options.routePrefix),
    methods: (trigger.methods ?? ['GET', 'POST']).map((method) => method.toUpperCase()),
    authLevel: trigger.authLevel ?? 'anonymous',
    handler: fnOptions.handler,
    trigger,
    returnBinding: fnOptions.return,
    extraOutputs,
    outputTargets: outputTargets(name, extraOutputs, fnOptions.return, options),
  };
}

/** Turns the registry's entries into runnable functions; any missing setting or bad name fails the start. */
export function resolveFunctions(
  registrations: readonly FunctionRegistration[],
  options: ResolveOptions,
): ResolvedFunctions {
  const resolved: ResolvedFunctions = { queueFunctions: [], httpFunctions: [] };
  for (const registration of registrations) {
    switch (registration.kind) {
      case 'storageQueue':
        resolved.queueFunctions.push(resolveQueueFunction(registration, options));
        break;
      case 'http':
        resolved.httpFunctions.push(resolveHttpFunction(registration, options));
        break;
      default: {
        // The registry may learn new kinds before the runner does.
        const { kind, name } = registration as { kind: string; name: string };
        options.write(`Function '${name}': trigger kind '${kind}' is not supported by the local runner; skipped.`);
      }
    }
  }
  return resolved;
}
