import { randomBytes, randomUUID } from 'node:crypto';

/** The network drivers of Docker on Windows that this simulation accepts. */
export const WINDOWS_NETWORK_DRIVERS = ['l2bridge', 'l2tunnel', 'transparent', 'overlay', 'nat', 'ics'] as const;

/** Networks the daemon makes itself; creating or deleting one of these names is forbidden (403). */
const PREDEFINED_NAMES = new Set(['nat', 'none']);

export interface DockerNetwork {
  id: string;
  name: string;
  driver: string;
  scope: 'local';
  created: string;
  ipam: { driver: 'windows'; config: { subnet?: string; gateway?: string }[] };
  options: Record<string, string>;
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
  /** When set, every create fails the way HNS does: 500 `hnsCall failed in Win32: …`. */
  hnsFailure: string | undefined;
  readonly #networks: DockerNetwork[] = [];

  constructor(options: { engineVersion?: string } = {}) {
    this.engineVersion = options.engineVersion ?? '20.10.24';
    this.#networks.push(
      network({ name: 'nat', driver: 'nat', subnet: '172.20.16.0/20', gateway: '172.20.16.1' }, { hnsOwned: true }),
    );
  }

  list(): DockerNetwork[] {
    return this.#networks.map(copy);
  }

  /** Resolves like the daemon: full id, then a unique exact name, then a unique id prefix. */
  inspect(idOrName: string): DockerNetwork {
    return copy(this.#resolve(idOrName));
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
    if (this.hnsFailure !== undefined) {
      const text = this.hnsFailure.startsWith('hnsCall failed')
        ? this.hnsFailure
        : `hnsCall failed in Win32: ${this.hnsFailure}`;
      throw new DockerApiError(500, text);
    }
    const created = network(request, { hnsOwned: false });
    this.#networks.push(created);
    return copy(created);
  }

  remove(idOrName: string): void {
    const target = this.#resolve(idOrName);
    if (PREDEFINED_NAMES.has(target.name)) {
      throw new DockerApiError(403, `${target.name} is a pre-defined network and cannot be removed`);
    }
    this.#networks.splice(this.#networks.indexOf(target), 1);
  }

  #resolve(idOrName: string): DockerNetwork {
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

function network(request: CreateNetworkRequest, { hnsOwned }: { hnsOwned: boolean }): DockerNetwork {
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

function copy(value: DockerNetwork): DockerNetwork {
  return {
    ...value,
    ipam: { driver: value.ipam.driver, config: value.ipam.config.map((entry) => ({ ...entry })) },
    options: { ...value.options },
  };
}
