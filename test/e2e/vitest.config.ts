// Vitest config of the end-to-end suite (`npm run test:e2e`): real headless
// Chromium tabs forming tabd clusters, driven from Node by playwright-core.
// Every test starts its own app server and browser, so files run one at a
// time (a 2-core machine, and timing-sensitive cases such as failover).
import path from 'node:path';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(import.meta.dirname, '../..'),
  test: {
    name: 'e2e',
    environment: 'node',
    include: ['test/e2e/**/*.test.ts'],
    fileParallelism: false,
    sequence: { concurrent: false, shuffle: false },
    maxWorkers: 1,
    // A test brings up a server, a browser and several tabs; the hidden-tab case runs for over
    // a minute. These are backstops: each test bounds its own waits.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Print the measured timings (failover, catch-up) as they come.
    disableConsoleIntercept: true,
  },
});
