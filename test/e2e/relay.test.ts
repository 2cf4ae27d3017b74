// Two separate Chromium processes (two profiles: no shared BroadcastChannel,
// storage or locks) form one cluster: they find each other through the
// WebSocket relay that the app server serves on /signal (&signal=relay), then
// talk over WebRTC data channels.
import { expect, test } from 'vitest';

import { openTab, status, waitForLeader } from './harness.js';
import { peerIdOf, put, tryGet } from './ops.js';
import { clusterName, stopwatch, useApp, useBrowser, waitForVoters } from './setup.js';

test('two Chromium processes join one cluster through the WebSocket relay', async () => {
  const lap = stopwatch('relay');
  const app = await useApp();
  const [one, two] = await Promise.all([useBrowser(), useBrowser()]);
  const cluster = clusterName('relay');
  const query = '&signal=relay';
  lap('server and two browsers up');

  // Browser one founds the cluster; then one more tab there and one in browser two join.
  const first = await openTab(one.context, app.url, cluster, query);
  await waitForLeader([first]);
  const [second, remote] = await Promise.all([
    openTab(one.context, app.url, cluster, query),
    openTab(two.context, app.url, cluster, query),
  ]);
  const pages = [first, second, remote];
  await waitForVoters(pages, 3);
  lap('3 voters across two browsers');

  // Browser two joined the existing cluster: it did not found one of its own.
  expect(
    await remote.evaluate((c) => localStorage.getItem(`tabd/${c}/bootstrapped`), cluster),
  ).toBeNull();
  const remoteId = await peerIdOf(remote);
  for (const s of await Promise.all([first, second].map(status)))
    expect(s.config.voters).toContain(remoteId);
  // Linearizable reads across the processes, in both directions.
  await put(remote, 'from/two', 'hello from browser two');
  for (const p of pages)
    expect(await tryGet(p, 'from/two')).toMatchObject({
      ok: true,
      value: 'hello from browser two',
    });
  await put(first, 'from/one', 'hello from browser one');
  expect(await tryGet(remote, 'from/one')).toMatchObject({
    ok: true,
    value: 'hello from browser one',
  });
  // The remote tab is a full voter: it can lead. Make it the leader and write through it.
  const { leader } = await waitForLeader(pages);
  const leaderId = await peerIdOf(leader);
  if (leaderId !== remoteId) {
    const err = await leader.evaluate(
      (to) => String(window.tabd!.runtime.server.node.transferLeadership(to as never) ?? ''),
      remoteId,
    );
    expect(err).toBe('');
    const { leader: now } = await waitForLeader(pages);
    expect(await peerIdOf(now)).toBe(remoteId);
  }
  await put(second, 'via/remote-leader', 'ok');
  expect(await tryGet(remote, 'via/remote-leader')).toMatchObject({ ok: true, value: 'ok' });
  lap('writes and linearizable reads in both directions, with the leader in either process');
});
