// Cluster helpers shared by the end-to-end tests and the benchmark (no Vitest
// here, so bench/ can import them): opening a cluster of tabs, waiting for its
// configuration, reloading a tab, collecting election lines, timing phases.
import type { BrowserContext, Page } from 'playwright-core';

import {
  openTab,
  status,
  waitFor,
  waitForLeader,
  waitTabReady,
  type TabStatus,
} from './harness.js';

/** clusterName: a name no earlier test used (profiles are fresh anyway; this keeps logs apart). */
export function clusterName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** waitForVoters waits until every tab sees `count` voters and one leader that all follow. */
export async function waitForVoters(
  pages: Page[],
  count: number,
  timeoutMs = 30_000,
): Promise<{ leader: Page; statuses: TabStatus[] }> {
  await waitFor(
    `${count} voters in every tab's configuration`,
    () => Promise.all(pages.map(status)),
    (ss) =>
      ss.every((s) => s.config.voters.length === count && s.appliedIndex === ss[0]!.appliedIndex),
    timeoutMs,
    100,
  );
  return waitForLeader(pages, timeoutMs);
}

/**
 * openCluster opens `n` tabs of `cluster` in `context`: the first founds the cluster, the
 * others join together; resolves once min(n, 3) voters are configured and one leader leads.
 */
export async function openCluster(
  context: BrowserContext,
  appUrl: string,
  cluster: string,
  n = 3,
  query = '',
): Promise<{ pages: Page[]; leader: Page }> {
  const first = await openTab(context, appUrl, cluster, query);
  await waitForLeader([first], 20_000);
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, () => openTab(context, appUrl, cluster, query)),
  );
  const pages = [first, ...rest];
  const { leader } = await waitForVoters(pages, Math.min(n, 3));
  return { pages, leader };
}

/** elapsed returns a function that prints how long each phase took (the suite's timings). */
export function stopwatch(test: string): (phase: string) => number {
  const t0 = Date.now();
  let last = t0;
  return (phase) => {
    const now = Date.now();
    console.log(`[e2e] ${test}: ${phase} (+${now - last} ms, ${now - t0} ms total)`);
    last = now;
    return now - t0;
  };
}

/** reloadTab reloads the tab (pagehide fires, then the page starts again) and waits until its node runs. */
export async function reloadTab(page: Page): Promise<void> {
  await page.reload();
  await waitTabReady(page);
}

/**
 * electionLog collects, from tabs opened with `&debug=1`, the Raft core's lines about
 * elections and role changes, stamped with the time since `t0`: the diagnosis printed when a
 * term changes where it must not.
 */
export function electionLog(pages: Page[], t0 = Date.now()): string[] {
  const lines: string[] = [];
  for (const [i, p] of pages.entries()) {
    p.on('console', (m) => {
      const text = m.text();
      if (/election|became|pre-candidate|MsgTimeoutNow|stepped down|lost quorum/i.test(text))
        lines.push(`${Date.now() - t0} ms tab${i}: ${text}`);
    });
  }
  return lines;
}
