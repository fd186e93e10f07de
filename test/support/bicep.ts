import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from './powerShell';

/**
 * The Bicep CLI for the deployment template checks: `Azure.Bicep.CommandLine.linux-x64` restored from NuGet into
 * .tools/nuget by `npm run bicep:restore` (infra/tools/Bicep.csproj). The vitest global setup restores it once per
 * `npm test` when `dotnet` is on PATH; `npm run infra:check` always does.
 */
export const BICEP_VERSION = bicepVersionFromProject();
export const BICEP_BINARY = path.join(
  REPO_ROOT,
  '.tools',
  'nuget',
  'azure.bicep.commandline.linux-x64',
  BICEP_VERSION,
  'tools',
  'bicep',
);

/** The one place the version is written: the PackageDownload in infra/tools/Bicep.csproj. */
function bicepVersionFromProject(): string {
  const project = readFileSync(path.join(REPO_ROOT, 'infra', 'tools', 'Bicep.csproj'), 'utf8');
  const version = /Include="Azure\.Bicep\.CommandLine\.linux-x64" Version="\[([^\]]+)\]"/.exec(project)?.[1];
  if (version === undefined) throw new Error('infra/tools/Bicep.csproj does not pin Azure.Bicep.CommandLine.linux-x64');
  return version;
}

/** Set by .ci/run and `npm run infra:check`: a machine without the Bicep CLI fails the template tests instead of skipping them. */
export const BICEP_REQUIRED = process.env.SDNATTACH_REQUIRE_BICEP === '1';

/** What the global setup found: the Bicep CLI ready, or why the template tests are skipped. */
export interface BicepAvailability {
  available: boolean;
  reason?: string;
}

function run(command: string, args: readonly string[], timeoutInMs: number): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: timeoutInMs,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Restores the Bicep CLI from the project's own files; says why not when it cannot. */
export function restoreBicep(): BicepAvailability {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return {
      available: false,
      reason: `the restored Bicep CLI is the linux-x64 build; this is ${process.platform}-${process.arch}`,
    };
  }
  const dotnet = run('dotnet', ['--version'], 60_000);
  if (dotnet.error !== undefined || dotnet.status !== 0) {
    // A CLI restored earlier still serves; only a restore needs the SDK.
    if (existsSync(BICEP_BINARY)) return { available: true };
    return {
      available: false,
      reason: 'the .NET SDK (dotnet) is not on PATH; install it, then `npm run bicep:restore` (see docs/deploy.md)',
    };
  }
  const restore = run('npm', ['run', '--silent', 'bicep:restore'], 300_000);
  if (restore.status !== 0 || !existsSync(BICEP_BINARY)) {
    const detail = `${restore.stdout}\n${restore.stderr}`.trim().split('\n').slice(-5).join(' / ');
    return { available: false, reason: `\`npm run bicep:restore\` failed: ${detail}` };
  }
  return { available: true };
}

/** Compiles a Bicep file to its ARM JSON template; throws with the compiler's diagnostics when it does not compile. */
export function buildArmTemplate(bicepFile: string): unknown {
  const build = run(BICEP_BINARY, ['build', bicepFile, '--stdout'], 120_000);
  if (build.error !== undefined || build.status !== 0) {
    throw new Error(`bicep build ${bicepFile} failed: ${build.error?.message ?? build.stderr}`);
  }
  return JSON.parse(build.stdout) as unknown;
}

/** Before a template suite: fails when the Bicep CLI is required (CI), otherwise says why the suite is skipped. */
export function reportMissingBicep(availability: BicepAvailability): void {
  if (availability.available) return;
  const message = `Bicep template tests skipped: ${availability.reason ?? 'the Bicep CLI is not available'}.`;
  if (BICEP_REQUIRED) throw new Error(message);
  console.warn(message);
}

/** One resource of a compiled template, with the (possibly nested) template it sits in. */
export interface ArmResource {
  type: string;
  properties: Record<string, unknown>;
  resource: Record<string, unknown>;
  template: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every resource in a template and in the templates of its modules (nested deployments), in either ARM layout. */
export function armResources(template: unknown): ArmResource[] {
  if (!isRecord(template)) return [];
  const listed = template.resources;
  const resources = Array.isArray(listed) ? listed : isRecord(listed) ? Object.values(listed) : [];
  return resources.filter(isRecord).flatMap((resource) => {
    const properties = isRecord(resource.properties) ? resource.properties : {};
    const own: ArmResource = { type: String(resource.type), properties, resource, template };
    return [own, ...armResources(properties.template)];
  });
}

/** Resolves a value that is exactly `[variables('name')]` to that variable of its template; other values as they are. */
export function resolveVariable(value: unknown, template: Record<string, unknown>): unknown {
  const match = typeof value === 'string' ? /^\[variables\('([^']+)'\)\]$/.exec(value) : null;
  if (!match?.[1] || !isRecord(template.variables)) return value;
  return template.variables[match[1]];
}
