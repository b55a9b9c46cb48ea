import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import SkipSummaryReporter from './test/helpers/skip-summary.js';
import { SKIP_LOG_VARIABLE } from './test/helpers/tools.js';

/** Where test files record the tools they miss; the skip summary reads it at the end of the run. */
const skipLog = join(tmpdir(), `mlctl-test-skips-${process.pid}.jsonl`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end tests spawn the built CLI and train models; two cores here.
    maxWorkers: 2,
    reporters: ['default', new SkipSummaryReporter(skipLog)],
    env: {
      MLCTL_DATA_MIRROR: process.env.MLCTL_DATA_MIRROR ?? new URL('../shared/data', import.meta.url).pathname,
      [SKIP_LOG_VARIABLE]: skipLog,
    },
  },
});
