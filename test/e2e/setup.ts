// Per-test fixtures of the end-to-end suite: each test gets its own app
// server and browser (closed when the test finishes, pass or fail) and a
// cluster name of its own.
import { onTestFinished } from 'vitest';

import { launchCdpBrowser, type CdpBrowser } from './cdp-browser.js';
import { launchBrowser, startAppServer, type AppServer, type Browser } from './harness.js';

export {
  clusterName,
  electionLog,
  openCluster,
  reloadTab,
  stopwatch,
  waitForVoters,
} from './cluster-helpers.js';

/** useApp starts an app server (Vite + /signal relay) stopped when the test finishes. */
export async function useApp(): Promise<AppServer> {
  const app = await startAppServer();
  onTestFinished(() => app.stop());
  return app;
}

/** useBrowser launches Chromium with a persistent profile, closed when the test finishes. */
export async function useBrowser(extraArgs: string[] = []): Promise<Browser> {
  const b = await launchBrowser(extraArgs);
  onTestFinished(() => b.close());
  return b;
}

/** useCdpBrowser launches Chromium by hand and attaches over CDP (real visibility and freezing). */
export async function useCdpBrowser(extraArgs: string[] = []): Promise<CdpBrowser> {
  const b = await launchCdpBrowser(extraArgs);
  onTestFinished(() => b.close());
  return b;
}
