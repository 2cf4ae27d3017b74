// CPU profile of a 3-tab cluster under 64 concurrent puts: where the tabs' main threads spend
// their time. Prints the top functions by self time for the leader's tab and one follower's.
//
//   npx tsx bench/profile.ts [--seconds=4] [--op=put|get] [--top=25]
import type { CDPSession, Page } from 'playwright-core';

import { launchBrowser, startAppServer, waitForLeader } from '../test/e2e/harness.js';
import { openCluster } from '../test/e2e/cluster-helpers.js';

const argOf = (name: string, dflt: string): string =>
  process.argv.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const SECONDS = Number(argOf('seconds', '4'));
const OP = argOf('op', 'put');
const TOP = Number(argOf('top', '25'));

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function summarize(name: string, p: Profile): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const f = n.callFrame;
    const file = f.url.split('/').slice(-2).join('/').replace(/\?.*$/, '');
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  console.log(`\n== ${name}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [k, us] of rows) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
  // Callers of the heaviest native frames (self time by the JS function that called them).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/').replace(/\?.*$/, '')}:${n.callFrame.lineNumber + 1}`;
  for (const native of ['encode', 'send', 'transaction', 'put', '(program)', 'setTimeout']) {
    const callers = new Map<string, number>();
    for (let i = 0; i < p.samples.length; i++) {
      const n = byId.get(p.samples[i]!)!;
      if (n.callFrame.functionName !== native || n.callFrame.url !== '') continue;
      const chain: string[] = [];
      let q = parent.get(n.id);
      while (q !== undefined && chain.length < 3) {
        chain.push(label(byId.get(q)!));
        q = parent.get(q);
      }
      const k = chain.join(' < ');
      callers.set(k, (callers.get(k) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
    const top = [...callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    for (const [k, us] of top) console.log(`   ${native} ${(us / 1000).toFixed(0)} ms from ${k}`);
  }
}

async function startProfile(page: Page): Promise<CDPSession> {
  const s = await page.context().newCDPSession(page);
  await s.send('Profiler.enable');
  await s.send('Profiler.setSamplingInterval', { interval: 200 });
  await s.send('Profiler.start');
  return s;
}

async function main(): Promise<void> {
  const app = await startAppServer();
  const browser = await launchBrowser();
  try {
    const { pages } = await openCluster(browser.context, app.url, `prof-${Date.now().toString(36)}`, 3);
    const { leader } = await waitForLeader(pages, 30_000);
    const follower = pages.find((p) => p !== leader)!;
    const stats = () =>
      Promise.all(
        [leader, follower].map((p) =>
          p.evaluate(() => {
            const st = window.tabd!.status();
            return { ...st.transport, applied: st.appliedIndex };
          }),
        ),
      );
    // Time each storage write and count its entries, in both tabs.
    for (const p of [leader, follower]) {
      await p.evaluate(() => {
        const node = window.tabd!.runtime.server.node as unknown as {
          cfg: { durable: { persist(x: { entries: unknown[] }): unknown } };
        };
        const d = node.cfg.durable;
        const persist = d.persist.bind(d);
        const w = window as unknown as { __writes: { start: number; ms: number; n: number }[] };
        w.__writes = [];
        d.persist = (x) => {
          const t = performance.now();
          const r = persist(x) as Promise<void>;
          void r.then(() => w.__writes.push({ start: t, ms: performance.now() - t, n: x.entries.length }));
          return r;
        };
      });
    }
    const before = await stats();
    const sessions = [await startProfile(leader), await startProfile(follower)];
    const ops = await leader.evaluate(
      async ([op, secs]) => {
        const c = window.tabd!.localClient;
        const value = 'y'.repeat(256);
        const end = performance.now() + secs * 1000;
        let n = 0;
        await Promise.all(
          Array.from({ length: 64 }, async (_, w) => {
            for (let i = 0; performance.now() < end; i++) {
              if (op === 'put') await c.put(`p/${w}/${i % 16}`, value);
              else await c.get(`p/${w}/${i % 16}`);
              n++;
            }
          }),
        );
        return n;
      },
      [OP, SECONDS] as const,
    );
    console.log(`${OP}: ${ops} ops in ${SECONDS} s = ${Math.round(ops / SECONDS)}/s`);
    const after = await stats();
    for (const [i, who] of ['leader', 'follower'].entries()) {
      const a = after[i]!;
      const b = before[i]!;
      const per = (k: 'framesSent' | 'framesReceived' | 'bytesSent' | 'bytesReceived') =>
        (((a[k] ?? 0) - (b[k] ?? 0)) / ops).toFixed(2);
      console.log(
        `${who} per op: frames sent ${per('framesSent')}, received ${per('framesReceived')}, bytes sent ${per('bytesSent')}, received ${per('bytesReceived')}; entries applied ${a.applied - b.applied}`,
      );
    }
    for (const [i, p] of [leader, follower].entries()) {
      const ws = await p.evaluate(
        () => (window as unknown as { __writes: { start: number; ms: number; n: number }[] }).__writes,
      );
      const ms = ws.map((w) => w.ms).sort((a, b) => a - b);
      const n = ws.map((w) => w.n);
      const gaps = ws.slice(1).map((w, j) => w.start - (ws[j]!.start + ws[j]!.ms)).sort((a, b) => a - b);
      const q = (xs: number[], f: number) => xs[Math.floor(xs.length * f)]?.toFixed(1);
      console.log(
        `${i === 0 ? 'leader' : 'follower'} writes: ${ws.length}, ms p50 ${q(ms, 0.5)} p90 ${q(ms, 0.9)}, entries/write mean ${(n.reduce((a, b) => a + b, 0) / ws.length).toFixed(1)}, idle gap between writes p50 ${q(gaps, 0.5)} p90 ${q(gaps, 0.9)} ms`,
      );
    }
    const [lp, fp] = await Promise.all(sessions.map((s) => s.send('Profiler.stop')));
    summarize('leader', lp!.profile as unknown as Profile);
    summarize('follower', fp!.profile as unknown as Profile);
  } finally {
    await browser.close();
    await app.stop();
  }
}

await main();
