// Hidden tabs with real visibility (Chromium started by hand, attached over
// CDP: shared/BROWSER-LIFECYCLE.md). Bringing one tab to the front hides the
// other two, the leader among them; Chromium then runs their page timers once
// a second (with IntensiveWakeUpThrottling after 10 s, once a minute, unless
// an open data channel exempts the page). Ticks come from a Worker's timer,
// which is not throttled: for over a minute the term must not change and
// writes must keep committing, from the visible and from a hidden tab.
import { expect, test } from 'vitest';

import { intensiveThrottlingAfter10s } from './cdp-browser.js';
import { status, type TabStatus } from './harness.js';
import { get, peerIdOf, writeLoopInPage } from './ops.js';
import {
  clusterName,
  electionLog,
  openCluster,
  stopwatch,
  useApp,
  useCdpBrowser,
} from './setup.js';

const HIDDEN_MS = 62_000;

test('hidden tabs (the leader among them) keep the term for over a minute and writes keep committing', async () => {
  const lap = stopwatch('hidden');
  const app = await useApp();
  const browser = await useCdpBrowser([intensiveThrottlingAfter10s]);
  const { pages, leader } = await openCluster(
    browser.context,
    app.url,
    clusterName('hidden'),
    3,
    '&debug=1',
  );
  const elections = electionLog(pages);
  lap('cluster up');
  const [visible, hiddenFollower] = pages.filter((p) => p !== leader) as [
    typeof leader,
    typeof leader,
  ];
  await visible.bringToFront();
  expect(
    await Promise.all(
      [visible, leader, hiddenFollower].map((p) => p.evaluate(() => document.visibilityState)),
    ),
  ).toEqual(['visible', 'hidden', 'hidden']);
  const leaderId = await peerIdOf(leader);
  const start = await Promise.all(pages.map(status));
  const term = start[0]!.term;

  // A page timer in the hidden follower, to show the throttling is real.
  await hiddenFollower.evaluate(() => {
    const w = window as unknown as { __wakeups: number };
    w.__wakeups = 0;
    setInterval(() => w.__wakeups++, 50);
  });

  const t0 = Date.now();
  const loops = Promise.all([
    writeLoopInPage(visible, 'from/visible', 'v', HIDDEN_MS),
    writeLoopInPage(hiddenFollower, 'from/hidden', 'h', HIDDEN_MS),
  ]);
  const seen: TabStatus[][] = [];
  const poll = async () => {
    while (Date.now() - t0 < HIDDEN_MS) {
      seen.push(await Promise.all(pages.map(status)));
      await new Promise((r) => setTimeout(r, 2_000));
    }
  };
  const [[fromVisible, fromHidden]] = await Promise.all([loops, poll()]);
  const wakeups = await hiddenFollower.evaluate(
    () => (window as unknown as { __wakeups: number }).__wakeups,
  );
  const end = await Promise.all(pages.map(status));
  lap(`${HIDDEN_MS / 1000} s with two tabs hidden`);

  console.log(
    `[e2e] hidden: ${fromVisible.acks.length} writes from the visible tab, ${fromHidden.acks.length} from a hidden one (failures ${fromVisible.failures.length}, ${fromHidden.failures.length}); ` +
      `a 50 ms page timer in the hidden tab fired ${wakeups} times in ${HIDDEN_MS / 1000} s; term ${term} → ${end.map((s) => s.term).join('/')}`,
  );
  // The browser did throttle the hidden page's timers (50 ms would give ~1240 wake-ups).
  expect(wakeups).toBeLessThan(200);
  expect(
    await Promise.all(
      [leader, hiddenFollower].map((p) => p.evaluate(() => document.visibilityState)),
    ),
  ).toEqual(['hidden', 'hidden']);

  // The term never changed, the hidden leader stayed leader, no tick gap was seen.
  const why = () =>
    `elections:\n${elections.join('\n')}\nstatuses every 2 s: ${seen.map((ss) => ss.map((s) => `${s.role[0]}${s.term}/p${s.pauses}`).join(' ')).join(', ')}`;
  for (const snapshot of [...seen, end]) {
    for (const s of snapshot) {
      expect(s.term, why()).toBe(term);
      expect(s.leader, why()).toBe(leaderId);
    }
  }
  for (const s of end) expect(s.pauses).toBe(0);

  // Writes kept committing the whole time: every 10 s window has acknowledgements from both.
  expect(fromVisible.failures).toEqual([]);
  expect(fromHidden.failures).toEqual([]);
  for (const { acks } of [fromVisible, fromHidden]) {
    for (let w = 0; w < Math.floor(HIDDEN_MS / 10_000); w++) {
      const inWindow = acks.filter(
        (a) => a.at >= t0 + w * 10_000 && a.at < t0 + (w + 1) * 10_000,
      ).length;
      expect(inWindow, `acknowledged writes in seconds ${w * 10}–${(w + 1) * 10}`).toBeGreaterThan(
        0,
      );
    }
  }
  // And the last of each is read in every tab.
  for (const p of pages) {
    expect(await get(p, 'from/visible')).toBe(`v${fromVisible.acks.at(-1)!.n}`);
    expect(await get(p, 'from/hidden')).toBe(`h${fromHidden.acks.at(-1)!.n}`);
  }
});
