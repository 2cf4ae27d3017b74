// Shared plumbing for the end-to-end tests and the benchmark: a Vite server
// serving the app (and the signaling relay), and headless Chromium with a
// persistent profile (real IndexedDB that survives reloads) driven by
// playwright-core. Everything binds to 127.0.0.1 and is torn down by the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/** Flags for headless Chromium here; the last two keep DNS and mDNS traffic on this machine. */
export const chromiumArgs = [
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

/**
 * keepNamesShim: tsx (esbuild with keepNames) wraps named functions of code sent to
 * page.evaluate in `__name(...)`, a helper that exists only in Node; define it in every page.
 */
export const keepNamesShim = '(globalThis.__name ??= (f) => f);';

export interface AppServer {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * startAppServer runs Vite (app + /signal relay) on a free port of 127.0.0.1, with the app's
 * config minus file watching and HMR (test/e2e/app-server.config.ts).
 */
export async function startAppServer(
  port = 5200 + Math.floor(Math.random() * 600),
): Promise<AppServer> {
  const root = path.resolve(import.meta.dirname, '../..');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(root, 'node_modules/vite/bin/vite.js'),
      '--config',
      path.join(root, 'test/e2e/app-server.config.ts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--strictPort',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BROWSER: 'none' } },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vite did not start: ${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Local:') || out.includes('ready in')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`vite exited ${code}: ${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export interface Browser {
  readonly context: BrowserContext;
  readonly profileDir: string;
  close(): Promise<void>;
}

/**
 * removeDir deletes a browser profile; the browser's helper processes may still be writing
 * into it for a moment after the browser closed, so it retries, and gives up quietly.
 */
export async function removeDir(dir: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** launchBrowser starts Chromium with a fresh persistent profile (IndexedDB on disk). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const profileDir = mkdtempSync(path.join(tmpdir(), 'tabd-e2e-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, ...extraArgs],
  });
  await context.addInitScript(keepNamesShim);
  return {
    context,
    profileDir,
    close: async () => {
      await context.close().catch(() => {});
      await removeDir(profileDir);
    },
  };
}

/**
 * waitTabReady waits until the tab's node has started (body[data-ready] is "true"), or throws
 * if it failed to. It polls from here, not with waitForFunction: that polls on animation
 * frames, which never come in a hidden tab, and page timers are throttled there.
 */
export async function waitTabReady(page: Page, timeoutMs = 30_000): Promise<void> {
  const state = await waitFor(
    'the tab to start',
    () => page.evaluate(() => document.body.dataset.ready).catch(() => undefined),
    (v) => v === 'true' || v === 'error',
    timeoutMs,
    100,
  );
  if (state !== 'true') throw new Error(`tab failed to start: ${await page.textContent('body')}`);
}

/** openTab opens the app for `cluster` and waits until the tab's node has started. */
export async function openTab(
  context: BrowserContext,
  appUrl: string,
  cluster: string,
  query = '',
): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${appUrl}/?cluster=${encodeURIComponent(cluster)}${query}`);
  await waitTabReady(page);
  return page;
}

export interface TabStatus {
  id: string;
  role: string;
  term: number;
  leader: string;
  quorum: boolean;
  isLearner: boolean;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  revision: number;
  config: { voters: string[]; learners: string[] };
  members: {
    id: string;
    role: 'voter' | 'learner';
    healthy: boolean;
    lastHeardTicks: number;
    match: number;
    lag: number;
  }[];
  transport: {
    framesDropped: number;
    framesReceived: number;
    bytesReceived: number;
    messagesReceived?: number;
  };
  pauses: number;
  nowTick: number;
}

export function status(page: Page): Promise<TabStatus> {
  return page.evaluate(() => window.tabd!.status() as unknown as TabStatus);
}

/** waitFor polls `pred` until it holds or the timeout passes. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T>,
  pred: (v: T) => boolean,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (pred(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** leaderOf returns the page whose tab leads, once exactly one does and all agree. */
export async function waitForLeader(
  pages: Page[],
  timeoutMs = 20_000,
): Promise<{ leader: Page; statuses: TabStatus[] }> {
  const sts = await waitFor(
    'one leader that every tab follows',
    () => Promise.all(pages.map(status)),
    (ss) => {
      const leaders = ss.filter((s) => s.role === 'leader');
      return leaders.length === 1 && ss.every((s) => s.leader === leaders[0]!.id);
    },
    timeoutMs,
  );
  const i = sts.findIndex((s) => s.role === 'leader');
  return { leader: pages[i]!, statuses: sts };
}
