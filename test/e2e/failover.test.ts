// Losing the leader's tab. Closed (pagehide fires): the leader hands
// leadership to a caught-up voter and closes its channels, so the cluster
// needs no election timeout. Crashed (no pagehide; peers' data channels stay
// open): Raft's heartbeats and election timeout notice. Either way a new
// leader is elected, acknowledged writes survive, and writes continue.
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';

import { openTab, status, waitFor, waitForLeader } from './harness.js';
import {
  connectedPeers,
  crashTab,
  firstWriteUnderNewLeader,
  get,
  peerIdOf,
  put,
  recordMessages,
  recordedMessages,
} from './ops.js';
import { clusterName, openCluster, stopwatch, useApp, useBrowser, waitForVoters } from './setup.js';

async function writeSome(page: Page, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) await put(page, `${prefix}/${i}`, `v${i}`);
}

async function expectAll(pages: Page[], n: number, prefix: string): Promise<void> {
  for (const p of pages)
    for (let i = 0; i < n; i++) expect(await get(p, `${prefix}/${i}`)).toBe(`v${i}`);
}

test('closing the leader tab: it hands over, a new leader commits within a round trip or so, writes continue', async () => {
  const lap = stopwatch('close-leader');
  const app = await useApp();
  const browser = await useBrowser();
  const cluster = clusterName('close');
  const { pages, leader } = await openCluster(browser.context, app.url, cluster);
  lap('cluster up');
  await writeSome(leader, 10, 'before');
  const oldLeader = await peerIdOf(leader);
  const oldTerm = (await status(leader)).term;
  const survivors = pages.filter((p) => p !== leader);
  for (const p of survivors) await recordMessages(p, ['MsgTimeoutNow']);

  // Writes are in flight when the tab closes: the hand-over must not depend on an idle leader.
  const firstWrite = firstWriteUnderNewLeader(survivors[0]!, oldLeader, 'during-failover', 10_000);
  await new Promise((r) => setTimeout(r, 150));
  const closedAt = Date.now();
  await leader.close({ runBeforeUnload: false });
  const w = await firstWrite;
  if ('error' in w) throw new Error(w.error);
  const failoverMs = w.at - closedAt;
  console.log(
    `[e2e] close-leader: failover ${failoverMs} ms (close → first write committed by the new leader ${w.leader}, term ${w.term})`,
  );

  // The old leader handed over: a survivor got MsgTimeoutNow from it and campaigned at once.
  const got = (await Promise.all(survivors.map(recordedMessages)))
    .flat()
    .filter((m) => m.type === 'MsgTimeoutNow');
  expect(got.map((m) => m.from)).toContain(oldLeader);
  expect(w.term).toBeGreaterThan(oldTerm);
  // Liveness backstop only: under load this machine's hops are slow, but a hand-over that
  // needs seconds means something waited for timeouts.
  expect(failoverMs).toBeLessThan(3000);

  const { leader: newLeader } = await waitForLeader(survivors);
  expect(await peerIdOf(newLeader)).not.toBe(oldLeader);
  for (const [i, p] of survivors.entries()) await put(p, `after/${i}`, `v${i}`);
  await expectAll(survivors, 10, 'before');
  await expectAll(survivors, survivors.length, 'after');
  lap('new leader, writes continue');

  // The closed tab's identity is free again: a new tab adopts it and catches up from its log.
  const reopened = await openTab(browser.context, app.url, cluster);
  expect(await peerIdOf(reopened)).toBe(oldLeader);
  await waitForVoters([...survivors, reopened], 3);
  await expectAll([reopened], 10, 'before');
  await expectAll([reopened], survivors.length, 'after');
  lap('a new tab resumed the closed identity');
});

test('crashing the leader tab (no pagehide): heartbeats notice, a new leader is elected, writes continue', async () => {
  const lap = stopwatch('crash-leader');
  const app = await useApp();
  const browser = await useBrowser();
  const cluster = clusterName('crash');
  const { pages, leader } = await openCluster(browser.context, app.url, cluster);
  lap('cluster up');
  await writeSome(leader, 10, 'before');
  const oldLeader = await peerIdOf(leader);
  const oldTerm = (await status(leader)).term;
  const survivors = pages.filter((p) => p !== leader);

  const firstWrite = firstWriteUnderNewLeader(survivors[0]!, oldLeader, 'during-failover', 15_000);
  await new Promise((r) => setTimeout(r, 150));
  const crashedAt = Date.now();
  await crashTab(leader);
  const w = await firstWrite;
  if ('error' in w) throw new Error(w.error);
  console.log(
    `[e2e] crash-leader: failover ${w.at - crashedAt} ms (crash → first write committed by the new leader ${w.leader}, term ${w.term})`,
  );
  expect(w.term).toBeGreaterThan(oldTerm);

  // The other tabs are alive and were not told: their channels to the crashed tab are still
  // open (BROWSER-LIFECYCLE.md), so it was Raft's heartbeats that noticed.
  for (const p of survivors)
    expect(await p.evaluate(() => document.body.dataset.ready)).toBe('true');
  const stillOpen = await Promise.all(survivors.map(connectedPeers));
  console.log(
    `[e2e] crash-leader: survivors' channels to the crashed tab still open: ${stillOpen.map((c) => c.includes(oldLeader)).join(', ')}`,
  );
  expect(stillOpen.some((c) => c.includes(oldLeader))).toBe(true);

  const { leader: newLeader } = await waitForLeader(survivors);
  expect(await peerIdOf(newLeader)).not.toBe(oldLeader);
  const st = await status(newLeader);
  expect(st.quorum).toBe(true);
  for (const [i, p] of survivors.entries()) await put(p, `after/${i}`, `v${i}`);
  await expectAll(survivors, 10, 'before');
  await expectAll(survivors, survivors.length, 'after');
  // The leader sees the crashed voter as unhealthy.
  await waitFor(
    'the crashed voter marked unhealthy',
    () => status(newLeader),
    (s) => s.members.some((m) => m.id === oldLeader && !m.healthy),
    5_000,
  );
  lap('new leader, writes continue');

  // The crashed tab's lock was released by the crash: a new tab adopts the identity and its log.
  await crashedPageClosed(leader);
  const reopened = await openTab(browser.context, app.url, cluster);
  expect(await peerIdOf(reopened)).toBe(oldLeader);
  await waitForVoters([...survivors, reopened], 3);
  await expectAll([reopened], 10, 'before');
  await expectAll([reopened], survivors.length, 'after');
  lap('a new tab resumed the crashed identity');
});

async function crashedPageClosed(page: Page): Promise<void> {
  await page.close().catch(() => {});
}
