import { RemoteServiceError } from '../../shared/errors';
import type {
  NetworkControllerClient,
  PutResult,
  Versioned,
  WriteOptions,
} from '../../shared/networkController/NetworkControllerClient';
import type { NetworkInterface, OperationStatus, VirtualSubnet } from '../../shared/networkController/resources';

type Client = Pick<
  NetworkControllerClient,
  | 'listVirtualSubnets'
  | 'getNetworkInterface'
  | 'putNetworkInterface'
  | 'getOperation'
  | 'getVirtualSubnet'
  | 'getAccessControlList'
  | 'getServer'
>;

interface Operation {
  nicId: string;
  status: OperationStatus;
  /** The NIC as it was before the write: a Failed operation puts it back (provisioningState Failed). */
  before: NetworkInterface;
}

/**
 * A Network Controller's NICs in memory, for the logic above the HTTP client: etag-guarded PUTs (412 on a stale
 * If-Match), every PUT recorded, and each write's operation InProgress until `endOperation` (or at once, unless
 * `holdOperations`). The emulator (test/support/ncEmulator.ts) is the faithful one; this one is for exact counts.
 */
export class InMemoryNetworkController implements Client {
  private readonly nics = new Map<string, { nic: NetworkInterface; etag: number }>();
  private readonly operations = new Map<string, Operation>();
  private nextEtag = 1;
  /** Leave each write's operation InProgress until the test ends it. */
  holdOperations = false;
  readonly puts: { nicId: string; body: NetworkInterface; ifMatch?: string; clientRequestId?: string }[] = [];
  /** Every call, as `METHOD nicId` or `GET operation`. */
  readonly calls: string[] = [];

  /**
   * `subnets`: each virtual subnet's ref (`/virtualNetworks/{v}/subnets/{s}`) and addressPrefix. Their read-only
   * `ipConfigurations` back-references are derived from the NICs on every read, as the controller does.
   */
  constructor(
    nics: readonly NetworkInterface[] = [],
    private readonly subnets: Readonly<Record<string, string>> = {},
  ) {
    for (const nic of nics) this.set(nic);
  }

  /** Puts a NIC in place as another writer would (a new etag). */
  set(nic: NetworkInterface): void {
    this.nics.set(nic.resourceId.toLowerCase(), { nic: structuredClone(nic), etag: this.nextEtag++ });
  }

  /** The NIC as stored now. */
  nic(nicId: string): NetworkInterface {
    const row = this.nics.get(nicId.toLowerCase());
    if (!row) throw new Error(`no NIC ${nicId}`);
    return structuredClone(row.nic);
  }

  listVirtualSubnets(virtualNetworkId: string): Promise<VirtualSubnet[]> {
    this.calls.push(`GET subnets ${virtualNetworkId}`);
    const prefix = `/virtualNetworks/${virtualNetworkId}/subnets/`.toLowerCase();
    const subnets = Object.entries(this.subnets).filter(([ref]) => ref.toLowerCase().startsWith(prefix));
    if (subnets.length === 0) return Promise.reject(notFound(`/virtualNetworks/${virtualNetworkId}`));
    return Promise.resolve(
      subnets.map(([ref, addressPrefix]) => ({
        resourceRef: ref,
        resourceId: ref.slice(prefix.length),
        properties: {
          addressPrefix,
          ipConfigurations: [...this.nics.values()].flatMap(({ nic }) =>
            nic.properties.ipConfigurations
              .filter((ipc) => ipc.properties.subnet?.resourceRef.toLowerCase() === ref.toLowerCase())
              .map((ipc) => ({
                resourceRef: `/networkInterfaces/${nic.resourceId}/ipConfigurations/${ipc.resourceId}`,
              })),
          ),
        },
      })),
    );
  }

  getNetworkInterface(nicId: string): Promise<Versioned<NetworkInterface>> {
    this.calls.push(`GET ${nicId}`);
    const row = this.nics.get(nicId.toLowerCase());
    if (!row) return Promise.reject(notFound(nicId));
    return Promise.resolve({ value: this.withEnvelope(row), etag: `W/"${row.etag}"` });
  }

  putNetworkInterface(
    nicId: string,
    body: NetworkInterface,
    options: WriteOptions = {},
  ): Promise<PutResult<NetworkInterface>> {
    this.calls.push(`PUT ${nicId}`);
    const row = this.nics.get(nicId.toLowerCase());
    if (!row) return Promise.reject(notFound(nicId));
    if (options.ifMatch !== undefined && options.ifMatch !== `W/"${row.etag}"`) {
      return Promise.reject(
        new RemoteServiceError('The etag does not match.', {
          source: 'NetworkController',
          code: 'PreconditionFailed',
          statusCode: 412,
          retryable: true,
        }),
      );
    }
    this.puts.push({
      nicId,
      body: structuredClone(body),
      ifMatch: options.ifMatch,
      clientRequestId: options.clientRequestId,
    });
    const before = row.nic;
    const url = `https://nc.test/networking/v1/operationResults/${this.puts.length}`;
    const held = this.holdOperations;
    row.nic = {
      ...structuredClone(body),
      properties: { ...structuredClone(body.properties), provisioningState: held ? 'Updating' : 'Succeeded' },
    };
    row.etag = this.nextEtag++;
    this.operations.set(url, { nicId, before, status: { status: held ? 'InProgress' : 'Succeeded' } });
    return Promise.resolve({
      value: this.withEnvelope(row),
      etag: `W/"${row.etag}"`,
      statusCode: 200,
      operationUrl: url,
    });
  }

  getOperation(operationUrl: string): Promise<OperationStatus> {
    this.calls.push('GET operation');
    const operation = this.operations.get(operationUrl);
    if (!operation) return Promise.reject(notFound(operationUrl));
    return Promise.resolve(structuredClone(operation.status));
  }

  /** Only NICs are kept here: subnets, ACLs and servers are not found. */
  getVirtualSubnet(virtualNetworkId: string, subnetId: string): Promise<never> {
    return Promise.reject(notFound(`${virtualNetworkId}/${subnetId}`));
  }

  getAccessControlList(aclId: string): Promise<never> {
    return Promise.reject(notFound(aclId));
  }

  getServer(serverRef: string): Promise<never> {
    return Promise.reject(notFound(serverRef));
  }

  /** Ends a held operation: Succeeded keeps the write; Failed puts the NIC back as it was, provisioningState Failed. */
  endOperation(operationUrl: string, status: OperationStatus): void {
    const operation = this.operations.get(operationUrl);
    if (!operation) throw new Error(`no operation ${operationUrl}`);
    operation.status = status;
    const row = this.nics.get(operation.nicId.toLowerCase());
    if (!row) return;
    const kept = status.status === 'Failed' ? operation.before : row.nic;
    row.nic = {
      ...kept,
      properties: { ...kept.properties, provisioningState: status.status === 'Failed' ? 'Failed' : 'Succeeded' },
    };
    row.etag = this.nextEtag++;
  }

  /** The operation of the last PUT. */
  lastOperationUrl(): string {
    return `https://nc.test/networking/v1/operationResults/${this.puts.length}`;
  }

  private withEnvelope(row: { nic: NetworkInterface; etag: number }): NetworkInterface {
    return {
      ...structuredClone(row.nic),
      resourceRef: `/networkInterfaces/${row.nic.resourceId}`,
      etag: `W/"${row.etag}"`,
    };
  }
}

function notFound(target: string): RemoteServiceError {
  return new RemoteServiceError(`${target} was not found.`, {
    source: 'NetworkController',
    code: 'NotFound',
    statusCode: 404,
    retryable: false,
    target,
  });
}
