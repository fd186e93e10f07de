import type { z } from 'zod';

import { RemoteServiceError, ValidationError } from '../errors';
import { AzurePipeline, type OperationOptions } from '../http/azurePipeline';
import { parseRetryAfterInMs } from '../http/retryPolicy';
import { type MachineRef, machineResourceId } from '../model/machineRef';
import {
  type ArcMachine,
  machineBodySchema,
  type RunCommand,
  runCommandBodySchema,
  toArcMachine,
  toRunCommand,
} from './armResources';
import { armService } from './armService';
import type { RunCommandParameter } from './scripts';
import type { TokenProvider } from './tokenProvider';

/** ARM's name rule for run commands (`[a-zA-Z0-9-_.]+`, per the HybridCompute spec). */
const ARM_NAME_PATTERN = /^[a-zA-Z0-9-_.]+$/;

export type { OperationOptions } from '../http/azurePipeline';
export type { ArcMachine, RunCommand, RunCommandExecutionState, RunCommandInstanceView } from './armResources';
export { managedIdentityTokenProvider, noTokenProvider, type TokenProvider } from './tokenProvider';

/** The first stable api-version of `Microsoft.HybridCompute` with run commands. */
const RUN_COMMAND_API_VERSION = '2025-01-13';

export interface RunCommandClientOptions {
  credential: TokenProvider;
  apiVersion?: typeof RUN_COMMAND_API_VERSION;
  /** Extra trusted CA in PEM, e.g. the local emulator's; TLS verification stays on. */
  caCertPem?: string;
  /** Retries within one call for transport errors, 408, 429 and 5xx (not 501/505). Default 3. */
  maxRetries?: number;
  /** First backoff delay, doubled per retry with jitter. Default 500 ms. */
  retryDelayInMs?: number;
  /** Longest wait between retries; a longer `Retry-After` is left to the next queue delivery. Default 8 s. */
  maxRetryDelayInMs?: number;
  /** Per-attempt timeout. Default 30 s. */
  timeoutInMs?: number;
}

export type GetMachineOptions = OperationOptions;
export type CreateOrReplaceRunCommandOptions = OperationOptions;
export type GetRunCommandOptions = OperationOptions;
export type DeleteRunCommandOptions = OperationOptions;

export interface RunCommandBody {
  /** Must be the machine's region. */
  location: string;
  /** Inline PowerShell; never contains request-derived values. */
  script: string;
  parameters: readonly RunCommandParameter[];
  /** Not echoed back by ARM; for secrets. */
  protectedParameters?: readonly RunCommandParameter[];
  timeoutInSeconds: number;
  /** When true, provisioning completes as soon as the script starts. Default false. */
  asyncExecution?: boolean;
}

export interface CreateOrReplaceRunCommandResult {
  runCommand: RunCommand;
  /** True for a new run command (201), false when an existing one was replaced and re-run (200). */
  created: boolean;
  /** Opaque `Azure-AsyncOperation` status URL. */
  asyncOperationUrl?: string;
  /** How long ARM asks us to wait before looking again. */
  retryAfterInMs?: number;
}

/**
 * Azure Resource Manager client for Run Command on Azure Arc-enabled machines
 * (`Microsoft.HybridCompute/machines/{machine}/runCommands/{name}`). Every failure is a `RemoteServiceError` with
 * source `AzureResourceManager`, ARM's own code and message, the HTTP status and `x-ms-request-id`.
 */
export class RunCommandClient {
  readonly #pipeline: AzurePipeline;
  readonly #apiVersion: string;

  constructor(endpoint: string, options: RunCommandClientOptions) {
    this.#pipeline = new AzurePipeline(endpoint, { ...options, service: armService });
    this.#apiVersion = options.apiVersion ?? RUN_COMMAND_API_VERSION;
  }

  /** Reads the machine's connection status, agent version and extension block list. */
  async getMachine(ref: MachineRef, options: GetMachineOptions = {}): Promise<ArcMachine> {
    const response = await this.#pipeline.send(
      { method: 'GET', path: machinePath(ref), apiVersion: this.#apiVersion },
      options,
    );
    return toArcMachine(parseBody(machineBodySchema, response.body, 'GET', machinePath(ref)));
  }

  /** PUT: creates the run command, or replaces and re-runs it when the name exists (ARM stops the earlier run). */
  async createOrReplaceRunCommand(
    ref: MachineRef,
    runCommandName: string,
    body: RunCommandBody,
    options: CreateOrReplaceRunCommandOptions = {},
  ): Promise<CreateOrReplaceRunCommandResult> {
    const path = runCommandPath(ref, runCommandName);
    const response = await this.#pipeline.send(
      {
        method: 'PUT',
        path,
        apiVersion: this.#apiVersion,
        body: {
          location: body.location,
          properties: {
            source: { script: body.script },
            parameters: body.parameters,
            ...(body.protectedParameters === undefined ? {} : { protectedParameters: body.protectedParameters }),
            asyncExecution: body.asyncExecution ?? false,
            timeoutInSeconds: body.timeoutInSeconds,
          },
        },
      },
      options,
    );
    return {
      runCommand: toRunCommand(parseBody(runCommandBodySchema, response.body, 'PUT', path)),
      created: response.status === 201,
      asyncOperationUrl: response.headers['azure-asyncoperation'],
      retryAfterInMs: parseRetryAfterInMs(response.headers),
    };
  }

  /** Reads the run command with its instance view (execution state, exit code, output tail). */
  async getRunCommand(
    ref: MachineRef,
    runCommandName: string,
    options: GetRunCommandOptions = {},
  ): Promise<RunCommand> {
    const path = runCommandPath(ref, runCommandName);
    const response = await this.#pipeline.send({ method: 'GET', path, apiVersion: this.#apiVersion }, options);
    return toRunCommand(parseBody(runCommandBodySchema, response.body, 'GET', path));
  }

  /** Deletes the run command (stopping it if it still runs); one that does not exist is fine. */
  async deleteRunCommand(
    ref: MachineRef,
    runCommandName: string,
    options: DeleteRunCommandOptions = {},
  ): Promise<void> {
    await this.#pipeline.send(
      {
        method: 'DELETE',
        path: runCommandPath(ref, runCommandName),
        apiVersion: this.#apiVersion,
        acceptStatuses: [404],
      },
      options,
    );
  }
}

function machinePath(ref: MachineRef): string {
  return machineResourceId(ref);
}

function runCommandPath(ref: MachineRef, runCommandName: string): string {
  if (!ARM_NAME_PATTERN.test(runCommandName) || runCommandName.length > 64) {
    throw new ValidationError([{ field: 'runCommandName', reason: 'must be 1-64 letters, digits, "-", "_" or "."' }]);
  }
  return `${machineResourceId(ref)}/runCommands/${runCommandName}`;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, method: string, path: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new RemoteServiceError('Azure Resource Manager answered with a body this client does not understand', {
    source: 'AzureResourceManager',
    code: 'InvalidResponse',
    retryable: false,
    method,
    path,
  });
}
