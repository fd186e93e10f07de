import { afterAll, beforeAll } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../dev/azurite';

/**
 * Azurite in memory on free loopback ports for the calling file's tests: started before them, stopped (by process
 * id) after them. Call at the top level of a test file; read the connection string inside tests or hooks.
 */
export function useAzurite(): { connectionString(): string } {
  let azurite: RunningAzurite | undefined;
  beforeAll(async () => {
    azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  }, 30_000);
  afterAll(async () => {
    await azurite?.stop();
  });
  return {
    connectionString: () => {
      if (!azurite) throw new Error('Azurite is not started yet: read the connection string inside a test or hook');
      return azurite.connectionString;
    },
  };
}
