import { randomBytes, randomUUID } from 'node:crypto';

/** The network drivers of Docker on Windows that this simulation accepts. */
export const WINDOWS_NETWORK_DRIVERS = ['l2bridge', 'l2tunnel', 'transparent', 'overlay', 'nat', 'ics'] as const;

/** Names the daemon reserves on Windows (compared with case); creating or deleting one of them is forbidden (403). */
const PREDEFINED_NAMES = new Set(['nat', 'none', 'default']);

/** Docker's own container name rule. */
export const CONTAINER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface DockerNetwork {
  id: string;
  name: string;
  driver: string;
  scope: 'local';
  created: string;
  ipam: { driver: 'windows'; config: { subnet?: string; gateway?: string }[] };
  options: Record<string, string>;
  /** As `docker network inspect` shows them: by container id, the running containers with an endpoint here. */
  containers: Record<string, { name: string; endpointId: string }>;
}

/** A container and the networks it has an endpoint on (by network name), as the admin routes show it. */
export interface DockerContainer {
  id: string;
  name: string;
  networks: string[];
}

interface ContainerState {
  id: string;
  name: string;
  /** Endpoint id by network id. */
  endpoints: Map<string, string>;
}

export interface CreateNetworkRequest {
  name: string;
  driver: string;
  subnet?: string;
  gateway?: string;
}

/** A Docker Engine API error: the HTTP status and the daemon's message (`{ "message": … }`). */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';

  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Docker networks of a Windows container host, with the daemon's status codes for the cases that matter. */
export class SimulatedDocker {
  engineVersion: string;
  /**
   * Lines the docker CLI prints on stderr with every command while still succeeding, e.g. its "WARNING: Error loading
   * config file: ..." when LocalSystem cannot read its config.json.
   */
  cliWarnings: string[];
  /** When set, every network create and remove fails the way HNS does: 500 `hnsCall failed in Win32: …`. */
  hnsFailure: string | undefined;
  readonly #networks: StoredNetwork[] = [];
  readonly #containers = new Map<string, ContainerState>();

  constructor(options: { engineVersion?: string; cliWarnings?: readonly string[] } = {}) {
    this.engineVersion = options.engineVersion ?? '20.10.24';
    this.cliWarnings = [...(options.cliWarnings ?? [])];
    this.#networks.push(defaultNatNetwork());
  }

  list(): DockerNetwork[] {
    return this.#networks.map((stored) => this.#view(stored));
  }

  /** Resolves like the daemon: full id, then a unique exact name, then a unique id prefix. */
  inspect(idOrName: string): DockerNetwork {
    return this.#view(this.#resolve(idOrName));
  }

  create(request: CreateNetworkRequest): DockerNetwork {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(request.name)) {
      throw new DockerApiError(400, `invalid name "${request.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (PREDEFINED_NAMES.has(request.name)) {
      throw new DockerApiError(403, `operation is not permitted on predefined ${request.name} network`);
    }
    if (this.#networks.some((existing) => existing.name === request.name)) {
      throw new DockerApiError(409, `network with name ${request.name} already exists`);
    }
    if (!(WINDOWS_NETWORK_DRIVERS as readonly string[]).includes(request.driver)) {
      throw new DockerApiError(404, `could not find plugin ${request.driver} in v1 plugin registry: plugin not found`);
    }
    if (request.subnet?.includes(':')) {
      throw new DockerApiError(403, 'Windows does not support v6 subnets');
    }
    this.#failLikeHns();
    const created = network(request, { hnsOwned: false });
    this.#networks.push(created);
    return this.#view(created);
  }

  remove(idOrName: string): void {
    const target = this.#resolve(idOrName);
    if (PREDEFINED_NAMES.has(target.name)) {
      throw new DockerApiError(403, `${target.name} is a pre-defined network and cannot be removed`);
    }
    if (this.#endpointsOn(target.id).length > 0) {
      // libnetwork's ActiveEndpointsError (Forbidden), wrapped by the daemon as engine 20.10 words it.
      throw new DockerApiError(
        403,
        `error while removing network: network ${target.name} id ${target.id} has active endpoints`,
      );
    }
    this.#failLikeHns();
    this.#networks.splice(this.#networks.indexOf(target), 1);
  }

  containers(): DockerContainer[] {
    return [...this.#containers.values()].map((container) => this.#containerView(container));
  }

  container(name: string): DockerContainer | undefined {
    const container = this.#containers.get(name);
    return container === undefined ? undefined : this.#containerView(container);
  }

  /**
   * Makes a running container with an endpoint on exactly these networks (id, name or id prefix, resolved like the
   * daemon), creating the container when it is new. An endpoint on a network it keeps keeps its id.
   */
  connectContainer(name: string, networks: readonly string[]): { container: DockerContainer; created: boolean } {
    if (!CONTAINER_NAME_PATTERN.test(name)) {
      throw new DockerApiError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const targets = networks.map((idOrName) => this.#resolve(idOrName));
    let container = this.#containers.get(name);
    const created = container === undefined;
    container ??= { id: randomBytes(32).toString('hex'), name, endpoints: new Map() };
    const endpoints = new Map<string, string>();
    for (const target of targets) {
      endpoints.set(target.id, container.endpoints.get(target.id) ?? randomBytes(32).toString('hex'));
    }
    container.endpoints = endpoints;
    this.#containers.set(name, container);
    return { container: this.#containerView(container), created };
  }

  /** Removes the container (and so its endpoints); false when there is none of that name. */
  removeContainer(name: string): boolean {
    return this.#containers.delete(name);
  }

  /**
   * What a reboot leaves. Windows Server 2019 and later do not persist HNS networks, and the daemon deletes at start
   * every network whose HNS network is gone, except that it makes `nat` networks again (the default one with a new
   * id). With `persistentNetworks` (HNS keeps them, e.g. a host that re-creates them at boot) all are kept.
   * Containers stop, so every endpoint goes.
   */
  reboot(options: { persistentNetworks: boolean }): void {
    for (const container of this.#containers.values()) container.endpoints.clear();
    if (options.persistentNetworks) return;
    const kept = this.#networks.filter((stored) => stored.driver === 'nat' && stored.name !== 'nat');
    this.#networks.splice(0, this.#networks.length, defaultNatNetwork(), ...kept);
  }

  #failLikeHns(): void {
    if (this.hnsFailure === undefined) return;
    const text = this.hnsFailure.startsWith('hnsCall failed')
      ? this.hnsFailure
      : `hnsCall failed in Win32: ${this.hnsFailure}`;
    throw new DockerApiError(500, text);
  }

  #endpointsOn(networkId: string): ContainerState[] {
    return [...this.#containers.values()].filter((container) => container.endpoints.has(networkId));
  }

  #view(stored: StoredNetwork): DockerNetwork {
    const containers: DockerNetwork['containers'] = {};
    for (const container of this.#endpointsOn(stored.id)) {
      containers[container.id] = { name: container.name, endpointId: container.endpoints.get(stored.id) ?? '' };
    }
    return { ...copy(stored), containers };
  }

  #containerView(container: ContainerState): DockerContainer {
    const names = [...container.endpoints.keys()].map(
      (id) => this.#networks.find((stored) => stored.id === id)?.name ?? id,
    );
    return { id: container.id, name: container.name, networks: names };
  }

  #resolve(idOrName: string): StoredNetwork {
    const byId = this.#networks.find((candidate) => candidate.id === idOrName);
    if (byId) return byId;
    const byName = this.#networks.filter((candidate) => candidate.name === idOrName);
    if (byName.length === 1) return byName[0]!;
    const byPrefix = this.#networks.filter((candidate) => candidate.id.startsWith(idOrName));
    const matches = byName.length > 1 ? byName : byPrefix;
    if (matches.length > 1)
      throw new DockerApiError(400, `network ${idOrName} is ambiguous (${matches.length} matches found)`);
    if (matches.length === 1) return matches[0]!;
    throw new DockerApiError(404, `network ${idOrName} not found`);
  }
}

/** A network as stored: everything but the containers, which are worked out from the endpoints when shown. */
type StoredNetwork = Omit<DockerNetwork, 'containers'>;

function defaultNatNetwork(): StoredNetwork {
  return network({ name: 'nat', driver: 'nat', subnet: '172.20.16.0/20', gateway: '172.20.16.1' }, { hnsOwned: true });
}

function network(request: CreateNetworkRequest, { hnsOwned }: { hnsOwned: boolean }): StoredNetwork {
  const config = request.subnet === undefined ? [] : [{ subnet: request.subnet, gateway: request.gateway }];
  return {
    id: randomBytes(32).toString('hex'),
    name: request.name,
    driver: request.driver,
    scope: 'local',
    created: new Date().toISOString(),
    ipam: { driver: 'windows', config },
    // The Windows driver writes the HNS network's id and name back into the options after creating it.
    options: {
      'com.docker.network.windowsshim.hnsid': randomUUID().toUpperCase(),
      ...(hnsOwned ? {} : { 'com.docker.network.windowsshim.networkname': request.name }),
    },
  };
}

function copy(value: StoredNetwork): StoredNetwork {
  return {
    ...value,
    ipam: { driver: value.ipam.driver, config: value.ipam.config.map((entry) => ({ ...entry })) },
    options: { ...value.options },
  };
}
