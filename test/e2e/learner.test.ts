// A fourth tab joins a 3-voter cluster as a learner (the target is 3 voters)
// and, because the leader has compacted the log it would need, catches up
// through a snapshot. It then replicates, serves serializable reads and
// forwards writes.
import { expect, test } from 'vitest';

import { openTab, status, waitFor } from './harness.js';
import { get, peerIdOf, put } from './ops.js';
import { clusterName, openCluster, stopwatch, useApp, useBrowser } from './setup.js';

// Snapshot every 50 applied entries, keeping 10 before it: a small cluster compacts quickly.
const query = '&snapshotEntries=50&snapshotCatchUpEntries=10';
const KEYS = 300;

test('a 4th tab joins as a learner and catches up through a snapshot after compaction', async () => {
  const lap = stopwatch('learner');
  const app = await useApp();
  const browser = await useBrowser();
  const cluster = clusterName('learner');
  const { pages, leader } = await openCluster(browser.context, app.url, cluster, 3, query);
  lap('cluster up');

  // 300 keys, 32 writes in flight at a time.
  await leader.evaluate(async (n) => {
    const c = window.tabd!.localClient;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < n; i = next++)
          await c.put(`k/${String(i).padStart(4, '0')}`, `value-${i}`);
      }),
    );
  }, KEYS);
  const firstIndex = (p: typeof leader) =>
    p.evaluate(() => window.tabd!.runtime.server.node.memStorage.firstIndex());
  const leaderSt = await status(leader);
  const leaderFirst = await firstIndex(leader);
  console.log(
    `[e2e] learner: leader commit ${leaderSt.commitIndex}, snapshot ${leaderSt.snapshotIndex}, first log index ${leaderFirst}`,
  );
  // The log before the snapshot is gone: a new member can only start from a snapshot.
  expect(leaderSt.snapshotIndex).toBeGreaterThan(0);
  expect(leaderFirst).toBeGreaterThan(2);
  lap(`${KEYS} keys written, log compacted`);

  const t0 = Date.now();
  const fourth = await openTab(browser.context, app.url, cluster, query);
  const id = await peerIdOf(fourth);
  const caughtUp = await waitFor(
    'the 4th tab to catch up',
    () => status(fourth),
    (s) => s.appliedIndex >= leaderSt.commitIndex,
    30_000,
  );
  console.log(
    `[e2e] learner: 4th tab caught up in ${Date.now() - t0} ms (applied ${caughtUp.appliedIndex}, snapshot ${caughtUp.snapshotIndex})`,
  );
  // It was installed from a snapshot, not replayed from index 1 (which no longer exists).
  expect(caughtUp.snapshotIndex).toBeGreaterThanOrEqual(leaderSt.snapshotIndex - 10);
  expect(await firstIndex(fourth)).toBeGreaterThan(2);

  // A learner: the voters stay the three first tabs.
  const sts = await waitFor(
    'the 4th tab to be a learner in every configuration',
    () => Promise.all([...pages, fourth].map(status)),
    (ss) =>
      ss.every(
        (s) =>
          s.config.learners.includes(id) &&
          s.config.voters.length === 3 &&
          !s.config.voters.includes(id),
      ),
    10_000,
  );
  expect(sts[3]!.isLearner).toBe(true);
  expect(sts[3]!.role).toBe('follower');
  lap('4th tab is a caught-up learner');

  // Its replica has every key (serializable: served locally).
  const values = await fourth.evaluate(async () => {
    const r = await window.tabd!.localClient.get('k/', { prefix: true, serializable: true });
    return r.kvs.map((kv) => new TextDecoder().decode(kv.value));
  });
  expect(values).toHaveLength(KEYS);
  expect(new Set(values)).toEqual(new Set(Array.from({ length: KEYS }, (_, i) => `value-${i}`)));

  // It keeps replicating, and it forwards its own writes to the leader.
  await put(leader, 'later', 'from-leader');
  await put(fourth, 'from-learner', 'yes');
  expect(await get(fourth, 'later')).toBe('from-leader');
  for (const p of pages) expect(await get(p, 'from-learner')).toBe('yes');
  lap('learner replicates and forwards writes');
});
