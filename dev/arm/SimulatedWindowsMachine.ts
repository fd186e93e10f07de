import { type DockerContainer, type DockerNetwork, SimulatedDocker } from './SimulatedDocker';
import { type RegistryValue, SimulatedRegistry } from './SimulatedRegistry';

export type MachineRole = 'HyperVHost' | 'ContainerHostVm';
export type ArcStatus = 'Connected' | 'Disconnected' | 'Expired' | 'Error';
export type ServiceStatus = 'Running' | 'Stopped';
/**
 * Who may write `HKLM\SYSTEM\CurrentControlSet\Services\hns\Parameters`: `open`, LocalSystem as on a usual VM;
 * `locked`, nobody until its owner is changed (Microsoft's InstallPrivateCloudPlugin.ps1 takes ownership because of
 * this); `denied`, not even after that.
 */
export type HnsKeyAcl = 'open' | 'locked' | 'denied';

/** What the next run commands on this machine do instead of running their script. */
export type RunCommandOutcome = 'TimedOut' | 'Failed' | 'Canceled' | { exitCode: number };

export interface FirewallRule {
  displayName: string;
  direction: 'Inbound' | 'Outbound';
  action: 'Allow' | 'Block';
  protocol: 'TCP' | 'UDP' | 'Any';
  localPort: string;
  enabled: boolean;
  profile: 'Any' | 'Domain' | 'Private' | 'Public';
}

export interface ServiceState {
  status: ServiceStatus;
  restartCount: number;
}

export interface ScriptRunRecord {
  script: string;
  version: number;
  parameters: Record<string, string>;
  at: string;
}

/** A VM this Hyper-V host runs, as PowerShell Direct sees it: its state and the one guest account it accepts. */
export interface HostedVm {
  name: string;
  machine: SimulatedWindowsMachine;
  state: 'Running' | 'Off';
  account: { userName: string; password: string };
  /** False: the guest does not answer PowerShell Direct (an old OS, or still starting). */
  powerShellDirect: boolean;
}

export interface SimulatedWindowsMachineInit {
  name: string;
  role: MachineRole;
  location: string;
  osSku: string;
  osVersion: string;
  agentVersion: string;
  status?: ArcStatus;
  services: Record<string, ServiceStatus>;
  /** A Docker engine with its default `nat` network. */
  docker?: { engineVersion?: string; cliWarnings?: string[] };
  files?: string[];
}

/** The JSON of `GET /_emulator/machines/{name}`, less the run commands the ARM state adds. */
export interface MachineSnapshot {
  name: string;
  role: MachineRole;
  location: string;
  status: ArcStatus;
  agentVersion: string;
  extensionsBlockList: string[];
  switches: {
    runCommandOutcome?: RunCommandOutcome;
    hnsFailure?: string;
    outputTailBytes: number;
    persistentNetworks?: true;
    hnsKeyAcl?: Exclude<HnsKeyAcl, 'open'>;
  };
  /** How many simulated reboots the machine has had. */
  reboots: number;
  registry: Record<string, Record<string, RegistryValue>>;
  firewallRules: FirewallRule[];
  services: Record<string, ServiceState>;
  dockerNetworks: DockerNetwork[];
  dockerContainers: DockerContainer[];
  scriptRuns: ScriptRunRecord[];
}

/** Run Command keeps only this much of a script's output, from the end. */
export const DEFAULT_OUTPUT_TAIL_BYTES = 4096;

/**
 * One simulated Arc-enabled Windows machine: the Arc agent's view (status, agent version, extension block list), and
 * what the product's scripts touch (registry, firewall rules, services, files, Docker networks).
 */
export class SimulatedWindowsMachine {
  readonly name: string;
  readonly role: MachineRole;
  readonly location: string;
  readonly osSku: string;
  readonly osVersion: string;
  readonly vmId: string;
  status: ArcStatus;
  agentVersion: string;
  extensionsBlockList: string[] = [];
  runCommandOutcome: RunCommandOutcome | undefined;
  outputTailBytes = DEFAULT_OUTPUT_TAIL_BYTES;
  /** Docker networks survive a reboot (see `SimulatedDocker.reboot`); off by default, as on Windows Server 2019+. */
  persistentNetworks = false;
  hnsKeyAcl: HnsKeyAcl = 'open';
  /** `%windir%` and `%SystemRoot%`. */
  readonly windowsFolder = 'C:\\Windows';
  reboots = 0;
  readonly registry = new SimulatedRegistry();
  readonly firewallRules: FirewallRule[] = [];
  readonly docker: SimulatedDocker | undefined;
  readonly scriptRuns: ScriptRunRecord[] = [];
  /** On a Hyper-V host: the VMs it runs, by lower-case name. */
  readonly hostedVms = new Map<string, HostedVm>();
  readonly #services = new Map<string, { name: string } & ServiceState>();
  readonly #files = new Set<string>();

  constructor(init: SimulatedWindowsMachineInit, vmId: string) {
    this.name = init.name;
    this.role = init.role;
    this.location = init.location;
    this.osSku = init.osSku;
    this.osVersion = init.osVersion;
    this.vmId = vmId;
    this.status = init.status ?? 'Connected';
    this.agentVersion = init.agentVersion;
    for (const [name, status] of Object.entries(init.services)) {
      this.#services.set(name.toLowerCase(), { name, status, restartCount: 0 });
    }
    this.docker = init.docker === undefined ? undefined : new SimulatedDocker(init.docker);
    for (const file of init.files ?? []) this.#files.add(file.toLowerCase());
  }

  get hnsFailure(): string | undefined {
    return this.docker?.hnsFailure;
  }

  set hnsFailure(value: string | undefined) {
    if (this.docker) this.docker.hnsFailure = value;
  }

  service(name: string): ServiceState | undefined {
    const service = this.#services.get(name.toLowerCase());
    return service === undefined ? undefined : { status: service.status, restartCount: service.restartCount };
  }

  /** Restart-Service: counted, and the service ends Running. */
  restartService(name: string): void {
    const service = this.#requireService(name);
    service.status = 'Running';
    service.restartCount++;
  }

  setServiceStatus(name: string, status: ServiceStatus): void {
    this.#requireService(name).status = status;
  }

  fileExists(path: string): boolean {
    return this.#files.has(path.toLowerCase());
  }

  setFile(path: string, present: boolean): void {
    if (present) this.#files.add(path.toLowerCase());
    else this.#files.delete(path.toLowerCase());
  }

  /** .NET's Environment.ExpandEnvironmentVariables for the variables the scripts meet; others stay as they are. */
  expandEnvironment(text: string): string {
    const variables: Record<string, string> = { systemroot: this.windowsFolder, windir: this.windowsFolder };
    return text.replace(/%([^%]+)%/g, (whole, name: string) => variables[name.toLowerCase()] ?? whole);
  }

  /**
   * A restart of the machine: the registry, firewall rules, files and services are as they were, while Docker loses
   * its networks (unless `persistentNetworks`) and every container its endpoints.
   */
  reboot(): void {
    this.docker?.reboot({ persistentNetworks: this.persistentNetworks });
    this.reboots++;
  }

  /** Like `netsh advfirewall firewall add rule`: a rule with the same display name is simply added again. */
  addFirewallRule(rule: FirewallRule): void {
    this.firewallRules.push({ ...rule });
  }

  /** Remove-NetFirewallRule of one rule (this very object), leaving others of the same display name. */
  removeFirewallRule(rule: FirewallRule): void {
    const index = this.firewallRules.indexOf(rule);
    if (index >= 0) this.firewallRules.splice(index, 1);
  }

  snapshot(): MachineSnapshot {
    return {
      name: this.name,
      role: this.role,
      location: this.location,
      status: this.status,
      agentVersion: this.agentVersion,
      extensionsBlockList: [...this.extensionsBlockList],
      switches: {
        ...(this.runCommandOutcome === undefined ? {} : { runCommandOutcome: this.runCommandOutcome }),
        ...(this.hnsFailure === undefined ? {} : { hnsFailure: this.hnsFailure }),
        outputTailBytes: this.outputTailBytes,
        ...(this.persistentNetworks ? { persistentNetworks: true as const } : {}),
        ...(this.hnsKeyAcl === 'open' ? {} : { hnsKeyAcl: this.hnsKeyAcl }),
      },
      reboots: this.reboots,
      registry: this.registry.toJSON(),
      firewallRules: this.firewallRules.map((rule) => ({ ...rule })),
      services: Object.fromEntries(
        [...this.#services.values()].map(({ name, status, restartCount }) => [name, { status, restartCount }]),
      ),
      dockerNetworks: this.docker?.list() ?? [],
      dockerContainers: this.docker?.containers() ?? [],
      scriptRuns: this.scriptRuns.map((run) => ({ ...run, parameters: { ...run.parameters } })),
    };
  }

  #requireService(name: string): { name: string } & ServiceState {
    const service = this.#services.get(name.toLowerCase());
    if (!service) throw new Error(`Cannot find any service with service name '${name}'.`);
    return service;
  }
}
