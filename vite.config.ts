// One config for the app (Vite) and every test project (Vitest).
//
// App: index.html at the root loads src/main.ts; `npm start` serves it on 127.0.0.1:5173.
// Tests: four Vitest projects, run separately by scripts/test-all.mjs:
//   unit     – Node, fast tests of pure code (test/**, except the three below and test/e2e,
//              the multi-tab end-to-end suite, which has its own config: `npm run test:e2e`)
//   scenario – Node, scripted cluster scenarios with golden traces (test/scenario/**)
//   sim      – Node, the deterministic simulator; long runs, hence the big timeout (test/sim/**)
//   browser  – real headless Chromium via Playwright (test/browser/**): IndexedDB, Web Locks,
//              WebRTC and the UI are never mocked there.
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

import { signalRelayPlugin } from './server/vite-signal-plugin.js';

// This machine has no internet and nothing may download a browser: Playwright launches the
// system Chromium installed by apt (.ci/run installs it on a fresh machine).
const chromiumExecutablePath = '/usr/bin/chromium';

// Flags for headless Chromium in tests. The last two are always kept: mDNS ICE candidates
// (`*.local`) cannot be resolved here, and the resolver rules make any name other than
// 127.0.0.1/localhost fail fast instead of waiting on a DNS lookup that never answers.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
];

export default defineConfig({
  // App build: index.html at the root is the entry; it loads /src/main.ts.
  publicDir: 'public',
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
  },
  // The WebSocket signaling relay (room pub/sub, DESIGN.md §4) on `/signal` of the dev and
  // preview servers, so `npm start` serves the app and the relay together. It takes only
  // upgrades for that path (HMR keeps working). The browser test project inherits it, so
  // browser tests reach the relay at ws://<tester host>/signal.
  plugins: [signalRelayPlugin()],
  // Pre-bundle the app's dependencies at start-up: discovering them on the
  // first page load makes Vite re-optimize and reload every open tab.
  optimizeDeps: {
    include: ['lit', 'lit/decorators.js', '@lit/context', 'idb', 'simple-peer/simplepeer.min.js'],
  },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    strictPort: true,
  },

  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/scenario/**', 'test/sim/**', 'test/browser/**', 'test/e2e/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'scenario',
          environment: 'node',
          include: ['test/scenario/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'sim',
          environment: 'node',
          include: ['test/sim/**/*.test.ts'],
          // Simulator runs explore many seeds; a run is bounded by its own step budget, this is
          // only the backstop.
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // Measurements are benchmarks, not tests: `npm run bench:storage` runs them.
          exclude: process.env.TABD_BENCH ? [] : ['test/browser/**/*-measure.test.ts'],
          testTimeout: process.env.TABD_BENCH ? 600_000 : 30_000,
          browser: {
            enabled: true,
            headless: true,
            // The tester page is served on loopback. Vitest's default port (63315) is strict, so a
            // second browser run on the same machine (another engineer, an e2e suite) would fail
            // with "port in use"; let it move to the next free port instead.
            api: { host: '127.0.0.1', strictPort: false },
            provider: playwright({
              launchOptions: {
                executablePath: chromiumExecutablePath,
                args: chromiumArgs,
              },
            }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
      },
    ],
  },
});
