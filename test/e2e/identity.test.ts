// Two live tabs must never share a peer identity (Raft's safety rests on it).
// A duplicated tab inherits its opener's sessionStorage, hence the hint
// "my previous identity"; the Web Lock held by the opener keeps it from
// taking it, so it gets an identity of its own.
import type { BrowserContext, Page } from 'playwright-core';
import { expect, test } from 'vitest';

import { openTab, status, waitFor, waitTabReady } from './harness.js';
import { peerIdOf, put, get } from './ops.js';
import { clusterName, openCluster, reloadTab, stopwatch, useApp, useBrowser } from './setup.js';

/** heldPeerLocks lists, as seen from `page`, the identity locks of `cluster` held by any tab. */
function heldPeerLocks(page: Page, cluster: string): Promise<string[]> {
  return page.evaluate(async (c) => {
    const q = await navigator.locks.query();
    const prefix = `tabd/${c}/peer/`;
    return (q.held ?? [])
      .map((l) => l.name ?? '')
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length));
  }, cluster);
}

/** duplicate opens the tab's own URL from the tab (window.open copies sessionStorage, as "Duplicate tab" does). */
async function duplicate(context: BrowserContext, page: Page): Promise<Page> {
  const [dup] = await Promise.all([
    context.waitForEvent('page'),
    page.evaluate(() => void window.open(location.href)),
  ]);
  await waitTabReady(dup);
  return dup;
}

async function expectDistinctIdentities(pages: Page[], cluster: string): Promise<string[]> {
  const ids = await Promise.all(pages.map(peerIdOf));
  expect(new Set(ids).size, `peer ids of live tabs: ${ids.join(', ')}`).toBe(ids.length);
  // Exactly one lock per live identity, each held once.
  const held = await heldPeerLocks(pages[0]!, cluster);
  expect([...held].sort()).toEqual([...ids].sort());
  return ids;
}

test('a duplicated tab does not take a held identity; two live tabs never share one', async () => {
  const lap = stopwatch('identity');
  const app = await useApp();
  const browser = await useBrowser();
  const cluster = clusterName('identity');
  const { pages } = await openCluster(browser.context, app.url, cluster);
  const [a, b] = pages as [Page, Page, Page];
  const aId = await peerIdOf(a);
  const bId = await peerIdOf(b);
  await expectDistinctIdentities(pages, cluster);
  lap('cluster up');

  // The duplicate inherits A's sessionStorage: the marker and A's identity hint.
  await a.evaluate(() => sessionStorage.setItem('e2e-marker', 'copied-from-a'));
  expect(await a.evaluate((c) => sessionStorage.getItem(`tabd/${c}/me`), cluster)).toBe(aId);
  const dup = await duplicate(browser.context, a);
  expect(await dup.evaluate(() => sessionStorage.getItem('e2e-marker'))).toBe('copied-from-a');
  const dupId = await peerIdOf(dup);
  expect(dupId).not.toBe(aId);
  await expectDistinctIdentities([...pages, dup], cluster);
  // It is a working member (a learner: the cluster already has its 3 voters).
  await put(dup, 'from-duplicate', 'ok');
  expect(await get(a, 'from-duplicate')).toBe('ok');
  lap('duplicate got its own identity');

  // A tab told (by its hint) to resume B's identity while B is alive waits for B's lock, does
  // not get it, and takes a free identity instead (here its own previous one).
  await dup.evaluate(([c, id]) => sessionStorage.setItem(`tabd/${c}/me`, id), [
    cluster,
    bId,
  ] as const);
  await reloadTab(dup);
  const reId = await peerIdOf(dup);
  expect(reId).not.toBe(bId);
  expect(reId).not.toBe(aId);
  await expectDistinctIdentities([...pages, dup], cluster);
  lap('a reload hinted at a held identity did not take it');

  // Once A's tab is gone its identity is free: a new tab (no hint) may adopt it, and resumes
  // A's log; still one tab per identity.
  await a.close({ runBeforeUnload: false });
  const live = [pages[1]!, pages[2]!, dup];
  await waitFor(
    'A to be gone from the locks',
    () => heldPeerLocks(live[0]!, cluster),
    (held) => !held.includes(aId),
    5_000,
  );
  const heir = await openTab(browser.context, app.url, cluster);
  expect(await peerIdOf(heir)).toBe(aId);
  await expectDistinctIdentities([...live, heir], cluster);
  await waitFor(
    'the heir to catch up',
    () => status(heir),
    (s) => s.quorum,
    15_000,
  );
  expect(await get(heir, 'from-duplicate')).toBe('ok');
  lap('a new tab adopted the freed identity');
});
