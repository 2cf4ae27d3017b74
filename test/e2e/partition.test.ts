// A tab cut off from the others (window.tabd.isolate() closes its channels
// and refuses new ones) knows it: status().quorum turns false, writes and
// linearizable reads are refused with 'no-quorum', serializable reads still
// answer from its replica. The majority carries on. After heal() the tab
// reconnects and catches up. Done for a follower, then for the leader (which
// steps down: CheckQuorum).
import { expect, test } from 'vitest';

import { status, waitFor, waitForLeader } from './harness.js';
import { get, peerIdOf, put, tryGet, tryPut } from './ops.js';
import { clusterName, openCluster, stopwatch, useApp, useBrowser } from './setup.js';

test('an isolated tab reports no quorum and refuses writes with no-quorum; after heal it catches up', async () => {
  const lap = stopwatch('partition');
  const app = await useApp();
  const browser = await useBrowser();
  const { pages } = await openCluster(browser.context, app.url, clusterName('partition'));
  lap('cluster up');

  for (const which of ['follower', 'leader'] as const) {
    const { leader } = await waitForLeader(pages);
    const target = which === 'leader' ? leader : pages.find((p) => p !== leader)!;
    const targetId = await peerIdOf(target);
    const majority = pages.filter((p) => p !== target);
    await put(leader, `${which}/before`, 'old');

    const t0 = Date.now();
    await target.evaluate(() => window.tabd!.isolate());
    await waitFor(
      `the isolated ${which} to report no quorum`,
      () => status(target),
      (s) => !s.quorum,
      5_000,
      20,
    );
    const noQuorumMs = Date.now() - t0;
    // A leader steps down once it has not heard from a majority for an election timeout.
    const isolated = await waitFor(
      `the isolated ${which} to have no leader`,
      () => status(target),
      (s) => s.role !== 'leader' && s.leader === '',
      5_000,
      20,
    );
    console.log(
      `[e2e] partition: isolated ${which} reported no quorum after ${noQuorumMs} ms, was leaderless (${isolated.role}) after ${Date.now() - t0} ms`,
    );

    // Refused, not lost in limbo: the writes and linearizable reads fail with no-quorum.
    const [w, r, s] = await Promise.all([
      tryPut(target, `${which}/isolated`, 'x'),
      tryGet(target, `${which}/before`),
      tryGet(target, `${which}/before`, true),
    ]);
    expect(w).toMatchObject({ ok: false, code: 'no-quorum' });
    expect(r).toMatchObject({ ok: false, code: 'no-quorum' });
    // A serializable read is served from the local replica.
    expect(s).toMatchObject({ ok: true, value: 'old' });
    expect((await status(target)).quorum).toBe(false);
    lap(`isolated ${which} refused a write and a linearizable read with no-quorum`);

    // Meanwhile the majority has (or elects) a leader and commits.
    const { leader: majorityLeader } = await waitForLeader(majority);
    expect(await peerIdOf(majorityLeader)).not.toBe(targetId);
    await put(majority[0]!, `${which}/before`, 'new');
    await put(majority[1]!, `${which}/during`, 'written while isolated');

    await target.evaluate(() => window.tabd!.heal());
    const t1 = Date.now();
    await waitFor(
      `the healed ${which} to regain quorum`,
      () => status(target),
      (s) => s.quorum,
      20_000,
      20,
    );
    const healMs = Date.now() - t1;
    expect(await get(target, `${which}/before`)).toBe('new');
    expect(await get(target, `${which}/during`)).toBe('written while isolated');
    // The write refused during isolation never happened anywhere.
    for (const p of pages) expect(await get(p, `${which}/isolated`)).toBeNull();
    await waitFor(
      `the healed ${which}'s replica to catch up`,
      () => tryGet(target, `${which}/during`, true),
      (x) => x.ok && x.value !== null,
      10_000,
    );
    const { statuses } = await waitForLeader(pages);
    expect(new Set(statuses.map((x) => x.term)).size).toBe(1);
    console.log(`[e2e] partition: healed ${which} regained quorum after ${healMs} ms`);
    lap(`${which} healed and caught up`);
  }
});
