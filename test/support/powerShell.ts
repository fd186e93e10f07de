import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';

/**
 * PowerShell for the host-script tests: `pwsh` 7.6 from the project's .NET tool manifest (.config/dotnet-tools.json)
 * and Pester 5.7.1 restored from NuGet into .tools/nuget (test/support/pester/Pester.csproj). Both come from
 * `npm run pwsh:restore`; the vitest global setup runs it once per `npm test` when `dotnet` is on PATH.
 */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const PESTER_MODULE = path.join(REPO_ROOT, '.tools', 'nuget', 'pester', '5.7.1', 'tools', 'Pester.psd1');
export const HOST_SCRIPTS_HELPER = path.join(REPO_ROOT, 'test', 'support', 'HostScripts.ps1');

/** What the global setup found: PowerShell ready, or why the PowerShell tests are skipped. */
export interface PowerShellAvailability {
  available: boolean;
  reason?: string;
}

/** Set by .ci/run: a machine without PowerShell fails the PowerShell tests instead of skipping them. */
export const POWERSHELL_REQUIRED = process.env.SDNATTACH_REQUIRE_POWERSHELL === '1';

function run(command: string, args: readonly string[], timeoutInMs: number): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: timeoutInMs });
}

/** Restores pwsh and Pester from the project's own files; says why not when it cannot. */
export function restorePowerShell(): PowerShellAvailability {
  const dotnet = run('dotnet', ['--version'], 60_000);
  if (dotnet.error !== undefined || dotnet.status !== 0) {
    return {
      available: false,
      reason: 'the .NET SDK (dotnet) is not on PATH; install it, then `npm run pwsh:restore` (see docs/development.md)',
    };
  }
  const restore = run('npm', ['run', '--silent', 'pwsh:restore'], 300_000);
  if (restore.status !== 0) {
    const detail = `${restore.stdout}\n${restore.stderr}`.trim().split('\n').slice(-5).join(' / ');
    return { available: false, reason: `\`npm run pwsh:restore\` failed: ${detail}` };
  }
  return { available: true };
}

/** Runs pwsh from the tool manifest with these arguments (no profile, no logo). */
export function runPwsh(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutInMs?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync('dotnet', ['tool', 'run', 'pwsh', '--', '-NoLogo', '-NoProfile', '-NonInteractive', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutInMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}
