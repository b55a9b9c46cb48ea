import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end tests spawn the built CLI and train models; two cores here.
    maxWorkers: 2,
    env: { MLCTL_DATA_MIRROR: process.env.MLCTL_DATA_MIRROR ?? new URL('../shared/data', import.meta.url).pathname },
  },
});
