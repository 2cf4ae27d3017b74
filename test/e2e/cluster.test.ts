// Three tabs of one browser form a cluster with exactly one leader, and a write
// acknowledged in any tab is then read, linearizably, in every tab.
import { expect, test } from 'vitest';

import { status } from './harness.js';
import { put, tryGet } from './ops.js';
import { clusterName, openCluster, stopwatch, useApp, useBrowser } from './setup.js';

test('3 tabs form a cluster with one leader; a write in any tab is read linearizably in every tab', async () => {
  const lap = stopwatch('cluster');
  const app = await useApp();
  const browser = await useBrowser();
  lap('server and browser up');
  const { pages } = await openCluster(browser.context, app.url, clusterName('three'));
  lap('3 tabs formed a cluster');

  const sts = await Promise.all(pages.map(status));
  expect(sts.filter((s) => s.role === 'leader')).toHaveLength(1);
  const leaderId = sts.find((s) => s.role === 'leader')!.id;
  expect(new Set(sts.map((s) => s.id)).size).toBe(3);
  for (const s of sts) {
    expect(s.leader).toBe(leaderId);
    expect(s.term).toBe(sts[0]!.term);
    expect(s.quorum).toBe(true);
    expect([...s.config.voters].sort()).toEqual(sts.map((x) => x.id).sort());
  }

  // Each tab writes (followers forward to the leader); right after the acknowledgement every
  // tab's linearizable read must see it: no retry, no waiting for replication.
  for (const [i, writer] of pages.entries()) {
    for (const key of [`own/${i}`, 'shared']) {
      const value = `from-tab-${i}`;
      const revision = await put(writer, key, value);
      const reads = await Promise.all(pages.map((p) => tryGet(p, key)));
      for (const [j, r] of reads.entries()) {
        expect(r, `tab ${j} reading ${key} after tab ${i} wrote it`).toMatchObject({
          ok: true,
          value,
        });
        if (r.ok) {
          expect(r.modRevision).toBe(revision);
          expect(r.revision).toBeGreaterThanOrEqual(revision);
        }
      }
    }
  }
  // Every tab's own key is still there, everywhere.
  for (const p of pages) {
    for (let i = 0; i < pages.length; i++)
      expect(await tryGet(p, `own/${i}`)).toMatchObject({ ok: true, value: `from-tab-${i}` });
  }
  lap('writes from every tab read in every tab');
});
