import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault/crash soak (issue 4) is still being verified; it joins npm test once it is known to pass.
    exclude: process.env.RELIABILITY === '1' ? [] : ['test/reliability/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
