import { z } from 'zod';

/** What the remote-run lifecycle needs to know about an Arc machine. */
export interface ArcMachine {
  name: string;
  location: string;
  /** `Connected`, `Disconnected`, `Error` or `Expired`. */
  status: string;
  agentVersion?: string;
  /** Lower-cased as reported; the agent compares them without regard to case. */
  extensionsBlockList: string[];
}

export type RunCommandExecutionState =
  'Unknown' | 'Pending' | 'Running' | 'Failed' | 'Succeeded' | 'TimedOut' | 'Canceled';

export interface RunCommandInstanceView {
  /** One of `RunCommandExecutionState`; kept as a string so a new state is not a parse failure. */
  executionState: string;
  exitCode?: number;
  output?: string;
  error?: string;
  startTime?: string;
  endTime?: string;
  executionMessage?: string;
}

export interface RunCommand {
  name: string;
  provisioningState: string;
  instanceView?: RunCommandInstanceView;
}

export const machineBodySchema = z.object({
  name: z.string(),
  location: z.string(),
  properties: z.object({
    status: z.string().optional(),
    agentVersion: z.string().optional(),
    agentConfiguration: z.object({ extensionsBlockList: z.array(z.string()).nullish() }).nullish(),
  }),
});

export const runCommandBodySchema = z.object({
  name: z.string(),
  properties: z.object({
    provisioningState: z.string().optional(),
    instanceView: z
      .object({
        executionState: z.string().optional(),
        exitCode: z.number().nullish(),
        output: z.string().nullish(),
        error: z.string().nullish(),
        startTime: z.string().nullish(),
        endTime: z.string().nullish(),
        executionMessage: z.string().nullish(),
      })
      .nullish(),
  }),
});

export function toArcMachine(body: z.infer<typeof machineBodySchema>): ArcMachine {
  return {
    name: body.name,
    location: body.location,
    status: body.properties.status ?? 'Unknown',
    agentVersion: body.properties.agentVersion,
    extensionsBlockList: body.properties.agentConfiguration?.extensionsBlockList ?? [],
  };
}

export function toRunCommand(body: z.infer<typeof runCommandBodySchema>): RunCommand {
  const view = body.properties.instanceView;
  return {
    name: body.name,
    provisioningState: body.properties.provisioningState ?? 'Unknown',
    instanceView:
      view === null || view === undefined
        ? undefined
        : dropUndefined({
            executionState: view.executionState ?? 'Unknown',
            exitCode: view.exitCode ?? undefined,
            output: view.output ?? undefined,
            error: view.error ?? undefined,
            startTime: view.startTime ?? undefined,
            endTime: view.endTime ?? undefined,
            executionMessage: view.executionMessage ?? undefined,
          }),
  };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
