import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { FunctionRegistration } from '../../shared/functionsHost/functionApp';
import { resolveEntryPointGlob } from './entryPointGlob';
import { withTestModeWarningsSuppressed } from './testModeWarnings';

export interface LoadAppOptions {
  appRoot: string;
  /** The compiled registration wrapper the function files import; must be the same file so it is the same module. */
  registryModulePath: string;
  log: (line: string) => void;
}

export interface LoadedApp {
  entryPoints: string[];
  registrations: readonly FunctionRegistration[];
}

interface RegistryModule {
  listFunctionRegistrations(): readonly FunctionRegistration[];
}

function readMainGlob(appRoot: string): string {
  const file = path.join(appRoot, 'package.json');
  if (!existsSync(file)) throw new Error(`No package.json in app root ${appRoot}.`);
  const { main } = JSON.parse(readFileSync(file, 'utf8')) as { main?: unknown };
  if (typeof main !== 'string' || main === '') throw new Error(`${file} has no "main" entry point glob.`);
  return main;
}

function isRegistryModule(value: unknown): value is RegistryModule {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<RegistryModule>).listFunctionRegistrations === 'function'
  );
}

/**
 * Loads the app like the Node worker does (every file `main` matches, in order), then reads what the files
 * registered. Loading goes through Node's own require so the function files, the registry and `@azure/functions` are
 * the very modules a compiled app would use, even when the runner itself runs under a TypeScript loader.
 */
export function loadFunctionApp(options: LoadAppOptions): LoadedApp {
  const appRoot = path.resolve(options.appRoot);
  const mainGlob = readMainGlob(appRoot);
  const entryPoints = resolveEntryPointGlob(appRoot, mainGlob);
  const appRequire = createRequire(path.join(appRoot, 'package.json'));

  if (entryPoints.length === 0) {
    // Same outcome as the worker: a warning, and an app with no functions.
    options.log(`Worker was unable to load entry point "${mainGlob}": File does not exist (app root ${appRoot}).`);
  }
  withTestModeWarningsSuppressed(() => {
    for (const file of entryPoints) {
      if (file.endsWith('.mjs'))
        throw new Error(`${file}: ES module entry points are not supported by the local runner.`);
      try {
        appRequire(file);
      } catch (error) {
        throw new Error(
          `Worker was unable to load function file ${file}: ${error instanceof Error ? error.stack : String(error)}`,
        );
      }
    }
  });

  const registry: unknown = appRequire(path.resolve(appRoot, options.registryModulePath));
  if (!isRegistryModule(registry)) {
    throw new Error(`${options.registryModulePath} does not export listFunctionRegistrations().`);
  }
  const registrations = registry.listFunctionRegistrations();
  if (registrations.length === 0 && entryPoints.length > 0) {
    // Functions registered with app.* directly never reach the registry, so the runner cannot see them.
    options.log(
      `No functions were registered through ${options.registryModulePath}; the runner only serves functions ` +
        `registered with registerStorageQueueFunction/registerHttpFunction.`,
    );
  }
  return { entryPoints, registrations };
}
