// A frozen leader (CDP Page.setWebLifecycleState: the browser's pause; its
// timers and workers stop, messages to it queue, its peers notice nothing but
// silence). The others elect a new leader and commit. On thaw the old leader
// receives a burst of stale-for-it messages and must step down; a
// linearizable read in the thawed tab returns the latest value or fails,
// never an older one; no acknowledged write is lost.
import { expect, test } from 'vitest';

import { status, waitFor, waitForLeader } from './harness.js';
import { get, peerIdOf, put, tryGet } from './ops.js';
import {
  clusterName,
  electionLog,
  openCluster,
  stopwatch,
  useApp,
  useCdpBrowser,
} from './setup.js';

interface ReadRecord {
  invokedAt: number;
  doneAt: number;
  value?: string | null;
  code?: string;
}

test('a frozen leader is replaced; thawed, it steps down, never serves a stale read, and no acknowledged write is lost', async () => {
  const lap = stopwatch('frozen');
  const app = await useApp();
  const browser = await useCdpBrowser();
  const { pages, leader } = await openCluster(
    browser.context,
    app.url,
    clusterName('frozen'),
    3,
    '&debug=1',
  );
  const elections = electionLog(pages);
  lap('cluster up');
  const others = pages.filter((p) => p !== leader);
  await others[0]!.bringToFront();
  const oldLeaderId = await peerIdOf(leader);
  const oldTerm = (await status(leader)).term;
  await put(leader, 'k', 'v0');

  // In the leader: a client reading k back to back (it keeps going across the freeze), and
  // writes still in flight at the moment it freezes.
  await leader.evaluate(() => {
    const w = window as unknown as {
      __reads: ReadRecord[];
      __stopReads: boolean;
      __preFreeze: Promise<PromiseSettledResult<unknown>[]>;
    };
    w.__reads = [];
    w.__stopReads = false;
    const ch = new MessageChannel();
    void (async () => {
      while (!w.__stopReads) {
        const invokedAt = Date.now();
        try {
          const r = await window.tabd!.localClient.get('k');
          w.__reads.push({
            invokedAt,
            doneAt: Date.now(),
            value: r.kvs[0] ? new TextDecoder().decode(r.kvs[0].value) : null,
          });
        } catch (e) {
          w.__reads.push({
            invokedAt,
            doneAt: Date.now(),
            code: String((e as { code?: string }).code),
          });
        }
        await new Promise<void>((resolve) => {
          ch.port1.onmessage = () => resolve();
          ch.port2.postMessage(0);
        });
      }
    })();
    w.__preFreeze = Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => window.tabd!.localClient.put(`pre-freeze/${i}`, 'x')),
    );
  });
  const readCount = () =>
    leader.evaluate(() => (window as unknown as { __reads: ReadRecord[] }).__reads.length);
  await waitFor('the reading client to get going', readCount, (n) => n >= 5, 10_000);
  const cdp = await browser.context.newCDPSession(leader);
  const frozenAt = Date.now();
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  lap('leader frozen');

  // The others elect a new leader and commit.
  const { leader: newLeader } = await waitForLeader(others, 15_000);
  const electedMs = Date.now() - frozenAt;
  const newLeaderId = await peerIdOf(newLeader);
  expect(newLeaderId).not.toBe(oldLeaderId);
  const acked: { key: string; value: string }[] = [];
  let lastAckAt = 0;
  for (let i = 1; i <= 10; i++) {
    const writer = others[i % 2]!;
    await put(writer, 'k', `v${i}`);
    await put(writer, `w/${i}`, `x${i}`);
    acked.push({ key: 'k', value: `v${i}` }, { key: `w/${i}`, value: `x${i}` });
    lastAckAt = Date.now();
  }
  const newTerm = (await status(newLeader)).term;
  expect(newTerm).toBeGreaterThan(oldTerm);
  // The frozen tab has not moved (its clock stopped with it).
  const frozenTicks = (await status(leader)).nowTick;
  await new Promise((r) => setTimeout(r, 300));
  expect((await status(leader)).nowTick).toBe(frozenTicks);
  lap(`new leader elected after ${electedMs} ms; 20 writes acknowledged`);
  console.log(
    `[e2e] frozen: the others elected a new leader ${electedMs} ms after the freeze (term ${oldTerm} → ${newTerm})`,
  );

  // Stay frozen for 3 s at least: longer than the tick source's catch-up bound (50 ticks),
  // so the thawed tab sees a pause, not merely late ticks.
  await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + 3_000 - Date.now())));
  // Thaw, and read at once in the thawed tab: its queued messages and this read race.
  const thawed = cdp.send('Page.setWebLifecycleState', { state: 'active' });
  const firstRead = tryGet(leader, 'k');
  await thawed;
  const r = await firstRead;
  console.log(`[e2e] frozen: first read in the thawed tab: ${JSON.stringify(r)}`);
  if (r.ok) expect(r.value).toBe('v10');

  // It steps down and follows the new leader.
  const st = await waitFor(
    'the thawed leader to step down and follow',
    () => status(leader),
    (s) => s.role === 'follower' && s.leader !== '' && s.leader !== oldLeaderId,
    10_000,
  );
  expect(st.term).toBeGreaterThanOrEqual(newTerm);
  expect(st.pauses).toBeGreaterThan(0);
  await waitForLeader(pages);
  lap('thawed leader stepped down');

  // No read invoked after v10 was acknowledged returned anything but v10 (or failed), and the
  // reading client never saw the value go backwards. (A read pending in the old leader when it
  // froze ends at its request timeout, so give the client a few seconds.)
  await waitFor(
    'reads invoked after the thaw to complete',
    () =>
      leader.evaluate(
        (t) =>
          (window as unknown as { __reads: ReadRecord[] }).__reads.filter((x) => x.invokedAt > t)
            .length,
        lastAckAt,
      ),
    (n) => n >= 5,
    15_000,
  );
  const reads = await leader.evaluate(() => {
    const w = window as unknown as { __reads: ReadRecord[]; __stopReads: boolean };
    w.__stopReads = true;
    return w.__reads;
  });
  const order = (v: string | null | undefined) => (v ? Number(v.slice(1)) : -1);
  const after = reads.filter((x) => x.invokedAt > lastAckAt && x.code === undefined);
  const failed = reads.filter((x) => x.code !== undefined);
  console.log(
    `[e2e] frozen: the leader tab's reading client made ${reads.length} reads; ${after.length} invoked after the last acknowledged write succeeded; ${failed.length} failed (${[...new Set(failed.map((x) => x.code))].join(', ')})`,
  );
  expect(after.length).toBeGreaterThan(0);
  for (const x of after)
    expect(x.value, `read invoked ${x.invokedAt - lastAckAt} ms after v10 was acknowledged`).toBe(
      'v10',
    );
  let highest = -1;
  for (const x of reads.filter((y) => y.code === undefined)) {
    expect(order(x.value), 'reads of one client never go backwards').toBeGreaterThanOrEqual(
      highest,
    );
    highest = order(x.value);
  }

  // No acknowledged write is lost: the survivors' writes, and any of the frozen leader's
  // in-flight writes that it reported as done.
  const pre = await leader.evaluate(async () => {
    const w = window as unknown as { __preFreeze: Promise<PromiseSettledResult<unknown>[]> };
    return (await w.__preFreeze).map((s) =>
      s.status === 'fulfilled' ? 'ok' : String((s.reason as { code?: string }).code),
    );
  });
  console.log(`[e2e] frozen: writes in flight in the leader when it froze: ${pre.join(', ')}`);
  for (const [i, outcome] of pre.entries())
    if (outcome === 'ok') acked.push({ key: `pre-freeze/${i}`, value: 'x' });
  for (const p of pages) {
    for (const { key, value } of acked.filter((a) => a.key !== 'k'))
      expect(await get(p, key)).toBe(value);
    expect(await get(p, 'k')).toBe('v10');
  }
  const final = await tryGet(leader, 'k');
  expect(final, elections.join('\n')).toMatchObject({ ok: true, value: 'v10' });
  lap('no acknowledged write lost');
});
