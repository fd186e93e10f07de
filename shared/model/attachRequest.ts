import { z } from 'zod';

import { type FieldIssue, ValidationError } from '../errors';
import { object, patterned, typeError } from './fields';
import { isIpv4, parseIpv4 } from './ipv4';
import {
  type ContainerHostReference,
  ContainerHostReferenceSchema,
  isGuestVmReference,
  MachineReferenceSchema,
} from './machineRef';

/** Hard limit of container IPs one request may ask for; keeps one NIC PUT and one state row small. */
export const MAX_CONTAINER_IPS = 256;

/** Tenant and attachment ids end up in table keys, queue messages and run-command names: keep them boring. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const ATTACHMENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Network Controller resource ids as used in resourceRefs (`VNet1`, `Subnet1`, GUIDs, `Vm_Net0`). */
export const RESOURCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Names of configured Network Controllers, mapped to `NC_<NAME>_*` settings. */
export const CONTROLLER_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Docker network names, also passed to PowerShell as a validated parameter. */
export const NETWORK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const TenantIdSchema = patterned(TENANT_ID_PATTERN, 'letters, digits, "-" and "_", at most 64');
export const AttachmentIdSchema = patterned(ATTACHMENT_ID_PATTERN, 'letters, digits, "-" and "_", at most 64');
const ResourceIdSchema = patterned(RESOURCE_ID_PATTERN, 'a Network Controller resourceId');

const Ipv4Schema = z
  .string({ error: typeError('must be a string holding an IPv4 address') })
  .refine(isIpv4, { error: (issue) => ipv4Reason(issue.input) });

function ipv4Reason(input: unknown): string {
  return typeof input === 'string' && input.includes(':')
    ? 'IPv6 is not supported; give an IPv4 address'
    : 'must be an IPv4 address in dotted-quad form, e.g. 192.168.1.101';
}

const NicRefSchema = z
  .object(
    { resourceId: ResourceIdSchema.optional(), privateIpAddress: Ipv4Schema.optional() },
    { error: typeError('must be an object') },
  )
  .strict()
  .refine((nic) => (nic.resourceId === undefined) !== (nic.privateIpAddress === undefined), {
    error: 'give exactly one of resourceId or privateIpAddress',
  });

const ContainerIpsSchema = z
  .strictObject(
    {
      addresses: z
        .array(Ipv4Schema, { error: typeError('must be an array of IPv4 addresses') })
        .min(1, { error: 'must list at least one address' })
        .max(MAX_CONTAINER_IPS, { error: `must list at most ${MAX_CONTAINER_IPS} addresses` })
        .optional(),
      range: object({ first: Ipv4Schema, last: Ipv4Schema }).optional(),
      count: z
        .number({ error: typeError('must be a number') })
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(MAX_CONTAINER_IPS, { error: `must be at most ${MAX_CONTAINER_IPS}` })
        .optional(),
    },
    { error: typeError('must be an object') },
  )
  .superRefine((ips, ctx) => {
    const given = [ips.addresses, ips.range, ips.count].filter((v) => v !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of addresses, range or count' });
      return;
    }
    if (ips.addresses) {
      const seen = new Set<string>();
      ips.addresses.forEach((address, index) => {
        if (seen.has(address))
          ctx.addIssue({ code: 'custom', path: ['addresses', index], message: `duplicate address ${address}` });
        seen.add(address);
      });
    }
    if (ips.range && isIpv4(ips.range.first) && isIpv4(ips.range.last)) {
      const size = parseIpv4(ips.range.last) - parseIpv4(ips.range.first) + 1;
      if (size < 1) ctx.addIssue({ code: 'custom', path: ['range', 'last'], message: 'must not be below range.first' });
      else if (size > MAX_CONTAINER_IPS)
        ctx.addIssue({
          code: 'custom',
          path: ['range'],
          message: `spans ${size} addresses; at most ${MAX_CONTAINER_IPS}`,
        });
    }
  });

/**
 * One attach request, the same for the HTTP API and the entry queue. Every identifier is checked against a safe
 * pattern here; subnet membership of the addresses is checked once the subnet has been read.
 */
export const AttachRequestSchema = object({
  attachmentId: AttachmentIdSchema.optional(),
  networkController: patterned(
    CONTROLLER_NAME_PATTERN,
    'the name of a configured Network Controller, not a URL',
  ).default('default'),
  virtualNetworkId: ResourceIdSchema,
  subnetId: ResourceIdSchema,
  nic: NicRefSchema,
  accessControlListId: ResourceIdSchema.optional(),
  containerIps: ContainerIpsSchema,
  hyperVHost: MachineReferenceSchema,
  containerHost: ContainerHostReferenceSchema,
  network: object({
    name: patterned(NETWORK_NAME_PATTERN, 'a Docker network name').refine(
      (name) => !/^(nat|none|host|default)$/i.test(name),
      {
        error: "names one of Docker's predefined Windows networks; choose another name",
      },
    ),
    driver: z.enum(['l2bridge', 'l2tunnel'], { error: typeError('must be "l2bridge" or "l2tunnel"') }),
    gateway: Ipv4Schema.optional(),
  }),
});

export type AttachRequestInput = z.input<typeof AttachRequestSchema>;
export type AttachRequest = z.infer<typeof AttachRequestSchema>;

/** A request as stored: the attachment id is always known. */
export type AcceptedAttachRequest = AttachRequest & { attachmentId: string };

/**
 * The container host's name where attachments are looked up by it (who else uses a Docker network): the Arc
 * machine's, or `<vm>@<host>` for a VM reached through its Hyper-V host, which no Arc machine name can be.
 */
export function containerHostName(request: {
  containerHost: ContainerHostReference;
  hyperVHost: { machineName: string };
}): string {
  const host = request.containerHost;
  return isGuestVmReference(host) ? `${host.vmName}@${request.hyperVHost.machineName}` : host.machineName;
}

/** The entry queue's message: the request plus the tenant it belongs to and a schema version. */
export const AttachQueueMessageSchema = AttachRequestSchema.extend({
  schemaVersion: z.literal(1, { error: 'must be 1' }).default(1),
  tenantId: TenantIdSchema,
});
export type AttachQueueMessage = z.infer<typeof AttachQueueMessageSchema>;

/** The entry queue's other message: take an attachment back off, as `DELETE .../attachments/{id}` does. */
export const DetachQueueMessageSchema = z.strictObject({
  schemaVersion: z.literal(1, { error: 'must be 1' }).default(1),
  action: z.literal('detach', { error: 'must be "detach"' }),
  tenantId: TenantIdSchema,
  attachmentId: AttachmentIdSchema,
});
export type DetachQueueMessage = z.infer<typeof DetachQueueMessageSchema>;

/**
 * Turns zod issues into `field: reason` pairs with dotted paths, one per problem. Parse with `reportInput: true` so
 * a missing field can be told from one of the wrong type.
 */
export function toFieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const field = `${prefix}${path}`.replace(/^\./, '').replaceAll('.[', '[') || '(body)';
    let reason = issue.message;
    if (issue.code === 'unrecognized_keys') reason = `unknown field(s): ${issue.keys.join(', ')}`;
    // Schemas without their own message (route parameters, plain zod) still say "is required" for a gap.
    if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) reason = 'is required';
    return { field, reason };
  });
}

/** Parses with a schema, throwing a ValidationError that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new ValidationError(toFieldIssues(parsed.error, prefix));
  return parsed.data;
}
