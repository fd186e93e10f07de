import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface LocalSettings {
  /** Names of the settings copied into the environment. */
  applied: string[];
  /** `Host.LocalHttpPort`, which `func start` uses when no --port is given. */
  localHttpPort: number | undefined;
}

/**
 * Applies `<appRoot>/local.settings.json` the way `func start` does: each `Values` entry becomes an environment
 * variable unless that variable is already set, so the shell can override the file.
 */
export function applyLocalSettings(appRoot: string, env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const file = path.join(appRoot, 'local.settings.json');
  if (!existsSync(file)) return { applied: [], localHttpPort: undefined };
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as {
    IsEncrypted?: unknown;
    Values?: Record<string, unknown>;
    Host?: { LocalHttpPort?: unknown };
  };
  if (parsed.IsEncrypted === true) {
    throw new Error(`${file} is encrypted; the local runner only reads plain settings (func settings decrypt).`);
  }
  const applied: string[] = [];
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (env[name] !== undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    env[name] = String(value);
    applied.push(name);
  }
  const port = parsed.Host?.LocalHttpPort;
  return { applied, localHttpPort: typeof port === 'number' && Number.isInteger(port) ? port : undefined };
}
