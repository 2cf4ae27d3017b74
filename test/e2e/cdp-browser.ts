// Chromium started by hand and attached over CDP, for the lifecycle tests
// (shared/BROWSER-LIFECYCLE.md): Playwright's own launch() passes
// --disable-background-timer-throttling and friends and emulates focus on
// every page, so no page is ever hidden and a CDP freeze does nothing. Here
// the browser keeps its real behaviour: page.bringToFront() hides the other
// tabs (timers aligned to 1 s at once, one wake-up a minute after the grace
// period), and Page.setWebLifecycleState really freezes a tab.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser as PwBrowser, type BrowserContext } from 'playwright-core';

import { chromiumArgs, chromiumPath, keepNamesShim, removeDir } from './harness.js';

export interface CdpBrowser {
  readonly browser: PwBrowser;
  readonly context: BrowserContext;
  readonly profileDir: string;
  close(): Promise<void>;
}

/** intensiveThrottlingAfter10s: one wake-up a minute for page timers after 10 s hidden (instead of 5 min). */
export const intensiveThrottlingAfter10s =
  '--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/10/grace_period_seconds_loaded/10';

/**
 * launchCdpBrowser starts headless /usr/bin/chromium with a fresh profile, the usual
 * test flags (none of the throttling-disabling ones) and `extraArgs`, and attaches to it.
 */
export async function launchCdpBrowser(extraArgs: string[] = []): Promise<CdpBrowser> {
  const profileDir = mkdtempSync(path.join(tmpdir(), 'tabd-e2e-cdp-'));
  const child: ChildProcess = spawn(
    chromiumPath,
    [
      ...chromiumArgs,
      '--headless',
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--user-data-dir=${profileDir}`,
      ...extraArgs,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const exited = new Promise((r) => child.once('exit', r));
      const timer = new Promise((r) => setTimeout(r, 3000));
      await Promise.race([exited, timer]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await removeDir(profileDir);
  };
  let wsUrl: string;
  try {
    wsUrl = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(
        () => reject(new Error(`chromium did not print its DevTools URL: ${err}`)),
        30_000,
      );
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited ${code}: ${err}`));
      });
    });
  } catch (e) {
    await kill();
    throw e;
  }
  // Keep draining stderr so the browser never blocks on a full pipe.
  child.stderr!.resume();
  const browser = await chromium.connectOverCDP(wsUrl, { noDefaults: true });
  const context = browser.contexts()[0]!;
  await context.addInitScript(keepNamesShim);
  return {
    browser,
    context,
    profileDir,
    close: async () => {
      await browser.close().catch(() => {});
      await kill();
    },
  };
}
