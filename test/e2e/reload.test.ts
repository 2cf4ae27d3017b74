// Reloading a tab is not a departure: the page comes back with the same
// identity (peer id, Web Lock, IndexedDB database), rebuilds its state from
// its own log, and catches up on what it missed. Followers and the leader.
import { expect, test } from 'vitest';

import { status, waitFor, waitForLeader } from './harness.js';
import { get, peerIdOf, put, putLoopInPage, tryGet } from './ops.js';
import {
  clusterName,
  openCluster,
  reloadTab,
  stopwatch,
  useApp,
  useBrowser,
  waitForVoters,
} from './setup.js';

test('a reloaded tab resumes with its identity and data and catches up (follower, then leader)', async () => {
  const lap = stopwatch('reload');
  const app = await useApp();
  const browser = await useBrowser();
  const { pages, leader } = await openCluster(browser.context, app.url, clusterName('reload'));
  lap('cluster up');
  const ids = await Promise.all(pages.map(peerIdOf));
  for (let i = 0; i < 20; i++) await put(leader, `before/${i}`, `v${i}`);

  for (const which of ['follower', 'leader'] as const) {
    const { leader: current } = await waitForLeader(pages);
    const target = which === 'leader' ? current : pages.find((p) => p !== current)!;
    const writer = pages.find((p) => p !== target)!;
    const id = await peerIdOf(target);
    // The target has applied the writes it is to show after its reload.
    const { commitIndex } = await status(current);
    const before = await waitFor(
      `the ${which} to apply index ${commitIndex}`,
      () => status(target),
      (st) => st.appliedIndex >= commitIndex,
      10_000,
    );

    // Writes go on in another tab while the target reloads. When the leader reloads, a put the
    // writer forwarded to it just before may be lost with it and fail only at the request
    // timeout (5 s, as etcd's "request timed out, possibly due to previous leader failure"):
    // write for longer than that.
    const writes = putLoopInPage(writer, `during-${which}`, 'n', which === 'leader' ? 7_000 : 3_000);
    await reloadTab(target);
    expect(await peerIdOf(target), 'same identity after reload').toBe(id);
    // Its data came back from its own IndexedDB log (a serializable read needs no peer).
    const own = await get(target, 'before/19', true);
    expect(own).toBe('v19');
    lap(`${which} reloaded with its identity and data`);

    const { acked } = await writes;
    expect(acked.length).toBeGreaterThan(0);
    const last = `n${acked.at(-1)!}`;
    // A linearizable read in the reloaded tab sees the last acknowledged write at once.
    expect(
      await waitFor(
        `a linearizable read in the reloaded ${which}`,
        () => tryGet(target, `during-${which}`),
        (r) => r.ok,
        10_000,
      ),
    ).toMatchObject({
      ok: true,
      value: last,
    });
    // And it caught up its replica: a serializable read there shows the same value.
    await waitFor(
      `the reloaded ${which} to catch up`,
      () => tryGet(target, `during-${which}`, true),
      (r) => r.ok && r.value === last,
      10_000,
    );
    const after = await status(target);
    expect(after.appliedIndex).toBeGreaterThan(before.appliedIndex);
    // Still the same three members: a reload added no one and removed no one.
    const { statuses } = await waitForVoters(pages, 3);
    for (const s of statuses) expect([...s.config.voters].sort()).toEqual([...ids].sort());
    for (const s of statuses) expect(s.config.learners).toEqual([]);
    lap(`${which} caught up (${acked.length} writes during its reload)`);
  }
  for (const p of pages)
    for (let i = 0; i < 20; i++) expect(await get(p, `before/${i}`)).toBe(`v${i}`);
});
