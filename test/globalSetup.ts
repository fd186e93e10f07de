import type { ProvidedContext } from 'vitest';

import { type BicepAvailability, restoreBicep } from './support/bicep';
import { type PowerShellAvailability, restorePowerShell } from './support/powerShell';

declare module 'vitest' {
  export interface ProvidedContext {
    powerShell: PowerShellAvailability;
    bicep: BicepAvailability;
  }
}

/** Restores pwsh, Pester and the Bicep CLI once for the whole run, so their tests know whether they can run. */
export default function setup(project: {
  provide: <K extends keyof ProvidedContext>(key: K, value: ProvidedContext[K]) => void;
}): void {
  project.provide('powerShell', restorePowerShell());
  project.provide('bicep', restoreBicep());
}
