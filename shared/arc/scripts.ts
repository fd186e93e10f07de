import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { ValidationError } from '../errors';
import {
  agentFormatSchema,
  driverSchema,
  ipv4AddressSchema,
  isHostAddressOf,
  networkNameSchema,
  portSchema,
  subnetCidrSchema,
  urlPathSchema,
} from './scriptParameters';

/** One `{ name, value }` entry of a run command's `properties.parameters`; Run Command passes it as `-name value`. */
export interface RunCommandParameter {
  name: string;
  value: string;
}

/** A product script: its text travels as `source.script`, request-derived values only as `parameters`. */
export interface HostScript<TName extends string = string, TInput = unknown> {
  readonly name: TName;
  readonly version: number;
  /** The script's first line, by which the ARM emulator recognises it. */
  readonly marker: string;
  readonly fileName: string;
  /** What the step is for, for messages. */
  readonly purpose: string;
  readonly defaultTimeoutInSeconds: number;
  readonly inputSchema: z.ZodType<TInput>;
  /** The PowerShell source, read from the `.ps1` file on first use. */
  readonly text: string;
  /** Validates `input` and returns the run-command parameters; throws `ValidationError` listing every bad field. */
  buildParameters(input: TInput): RunCommandParameter[];
}

export const enableNetworkProxyInputSchema = z.strictObject({});
export type EnableNetworkProxyInput = z.infer<typeof enableNetworkProxyInputSchema>;

export const installPrivateCloudPluginInputSchema = z.strictObject({
  /**
   * The agent override of InstallPrivateCloudPlugin.ps1; when absent, agent settings already on the VM are kept. The
   * path may come with or without its leading slash; the script gets, and stores, it without.
   */
  agent: z
    .strictObject({ ipAddress: ipv4AddressSchema, port: portSchema, path: urlPathSchema, format: agentFormatSchema })
    .optional(),
});
export type InstallPrivateCloudPluginInput = z.infer<typeof installPrivateCloudPluginInputSchema>;

export const ensureContainerNetworkInputSchema = z
  .strictObject({
    networkName: networkNameSchema,
    driver: driverSchema,
    subnet: subnetCidrSchema,
    gateway: ipv4AddressSchema,
  })
  .superRefine((input, ctx) => {
    // Zod runs this even when a field already failed; only compare two well-formed values.
    const comparable =
      subnetCidrSchema.safeParse(input.subnet).success && ipv4AddressSchema.safeParse(input.gateway).success;
    if (comparable && !isHostAddressOf(input.gateway, input.subnet)) {
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: `must be a host address inside ${input.subnet}` });
    }
  });
export type EnsureContainerNetworkInput = z.infer<typeof ensureContainerNetworkInputSchema>;

/**
 * Detach of step 4. Only `networkName` is required; `driver`, `subnet` and `gateway` are what the attachment created:
 * each one given must match the network found, else the script leaves it alone (`NetworkMismatch`). Whatever is
 * given, a network whose driver is not l2bridge or l2tunnel is never removed (`NetworkNotManaged`).
 */
export const removeContainerNetworkInputSchema = z
  .strictObject({
    networkName: networkNameSchema,
    driver: driverSchema.optional(),
    subnet: subnetCidrSchema.optional(),
    gateway: ipv4AddressSchema.optional(),
  })
  .superRefine((input, ctx) => {
    if (input.subnet === undefined || input.gateway === undefined) return;
    const comparable =
      subnetCidrSchema.safeParse(input.subnet).success && ipv4AddressSchema.safeParse(input.gateway).success;
    if (comparable && !isHostAddressOf(input.gateway, input.subnet)) {
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: `must be a host address inside ${input.subnet}` });
    }
  });
export type RemoveContainerNetworkInput = z.infer<typeof removeContainerNetworkInputSchema>;

export const inspectHyperVHostInputSchema = z.strictObject({});
export type InspectHyperVHostInput = z.infer<typeof inspectHyperVHostInputSchema>;

export const inspectContainerHostInputSchema = z.strictObject({
  /** When given, the Docker network of this exact name is reported too (present or not). */
  networkName: networkNameSchema.optional(),
});
export type InspectContainerHostInput = z.infer<typeof inspectContainerHostInputSchema>;

export const removePrivateCloudPluginInputSchema = z.strictObject({});
export type RemovePrivateCloudPluginInput = z.infer<typeof removePrivateCloudPluginInputSchema>;

const scriptsFolderCandidates = [
  path.join(__dirname, 'scripts'),
  // Compiled to dist/shared/arc, which tsc does not copy .ps1 files into: use the sources at the package root.
  path.join(__dirname, '..', '..', '..', 'shared', 'arc', 'scripts'),
];

/** Reads a product script's text; throws when it is in neither the source nor the package folder. */
export function loadScriptText(fileName: string): string {
  for (const folder of scriptsFolderCandidates) {
    const file = path.join(folder, fileName);
    if (existsSync(file)) return readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  }
  throw new Error(`Host script ${fileName} not found in ${scriptsFolderCandidates.join(' or ')}`);
}

function scriptMarker(name: string, version: number): string {
  return `# sdn-attach-script: ${name} v${version}`;
}

function parseInput<T>(schema: z.ZodType<T>, input: unknown, scriptName: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      field: issue.path.map(String).join('.') || '(input)',
      reason: issue.message,
    })),
    { code: 'InvalidScriptParameters', context: { step: scriptName } },
  );
}

function defineScript<TName extends string, TInput>(definition: {
  name: TName;
  version: number;
  purpose: string;
  defaultTimeoutInSeconds: number;
  inputSchema: z.ZodType<TInput>;
  toParameters(input: TInput): RunCommandParameter[];
}): HostScript<TName, TInput> {
  const fileName = `${definition.name}.ps1`;
  let text: string | undefined;
  return {
    name: definition.name,
    version: definition.version,
    marker: scriptMarker(definition.name, definition.version),
    fileName,
    purpose: definition.purpose,
    defaultTimeoutInSeconds: definition.defaultTimeoutInSeconds,
    inputSchema: definition.inputSchema,
    get text() {
      text ??= loadScriptText(fileName);
      return text;
    },
    buildParameters(input) {
      return definition.toParameters(parseInput(definition.inputSchema, input, definition.name));
    },
  };
}

export const enableNetworkProxyScript = defineScript({
  name: 'enable-network-proxy',
  version: 2,
  purpose: 'enable the network proxy on the Hyper-V host',
  // A restart of nchostagent waits up to 60 s; the rest takes seconds.
  defaultTimeoutInSeconds: 300,
  inputSchema: enableNetworkProxyInputSchema,
  toParameters: () => [],
});

export const installPrivateCloudPluginScript = defineScript({
  name: 'install-private-cloud-plugin',
  version: 2,
  purpose: 'install the Private Cloud HNS plugin on the container host VM',
  defaultTimeoutInSeconds: 300,
  inputSchema: installPrivateCloudPluginInputSchema,
  toParameters: ({ agent }) =>
    agent === undefined
      ? []
      : [
          { name: 'AgentIPAddress', value: agent.ipAddress },
          { name: 'AgentPort', value: String(agent.port) },
          { name: 'AgentPath', value: agent.path },
          { name: 'AgentFormat', value: agent.format },
        ],
});

export const ensureContainerNetworkScript = defineScript({
  name: 'ensure-container-network',
  version: 2,
  purpose: 'create the container network on the container host VM',
  // HNS can take minutes to create an l2bridge network on a busy host.
  defaultTimeoutInSeconds: 600,
  inputSchema: ensureContainerNetworkInputSchema,
  toParameters: (input) => [
    { name: 'NetworkName', value: input.networkName },
    { name: 'Driver', value: input.driver },
    { name: 'Subnet', value: input.subnet },
    { name: 'Gateway', value: input.gateway },
  ],
});

export const removeContainerNetworkScript = defineScript({
  name: 'remove-container-network',
  version: 2,
  purpose: 'remove the container network from the container host VM',
  // HNS can take minutes to tear down an l2bridge network, as it can to create one.
  defaultTimeoutInSeconds: 600,
  inputSchema: removeContainerNetworkInputSchema,
  toParameters: (input) => [
    { name: 'NetworkName', value: input.networkName },
    ...(input.driver === undefined ? [] : [{ name: 'Driver', value: input.driver }]),
    ...(input.subnet === undefined ? [] : [{ name: 'Subnet', value: input.subnet }]),
    ...(input.gateway === undefined ? [] : [{ name: 'Gateway', value: input.gateway }]),
  ],
});

export const inspectHyperVHostScript = defineScript({
  name: 'inspect-hyperv-host',
  version: 2,
  purpose: 'inspect the network proxy on the Hyper-V host',
  // Reads only: registry, firewall rules and one service.
  defaultTimeoutInSeconds: 120,
  inputSchema: inspectHyperVHostInputSchema,
  toParameters: () => [],
});

export const inspectContainerHostScript = defineScript({
  name: 'inspect-container-host',
  version: 2,
  purpose: 'inspect the HNS plugin and the container network on the container host VM',
  defaultTimeoutInSeconds: 120,
  inputSchema: inspectContainerHostInputSchema,
  toParameters: ({ networkName }) => (networkName === undefined ? [] : [{ name: 'NetworkName', value: networkName }]),
});

export const removePrivateCloudPluginScript = defineScript({
  name: 'remove-private-cloud-plugin',
  version: 2,
  purpose: 'remove the Private Cloud HNS plugin from the container host VM',
  // A restart of hns waits up to 60 s, as in the install.
  defaultTimeoutInSeconds: 300,
  inputSchema: removePrivateCloudPluginInputSchema,
  toParameters: () => [],
});

/** Every product script, by name. */
export const hostScripts = {
  [enableNetworkProxyScript.name]: enableNetworkProxyScript,
  [installPrivateCloudPluginScript.name]: installPrivateCloudPluginScript,
  [ensureContainerNetworkScript.name]: ensureContainerNetworkScript,
  [removeContainerNetworkScript.name]: removeContainerNetworkScript,
  [inspectHyperVHostScript.name]: inspectHyperVHostScript,
  [inspectContainerHostScript.name]: inspectContainerHostScript,
  [removePrivateCloudPluginScript.name]: removePrivateCloudPluginScript,
} as const;

export type HostScriptName = keyof typeof hostScripts;
export type AnyHostScript = (typeof hostScripts)[HostScriptName];

export function findHostScript(name: string): AnyHostScript | undefined {
  return Object.prototype.hasOwnProperty.call(hostScripts, name) ? hostScripts[name as HostScriptName] : undefined;
}
