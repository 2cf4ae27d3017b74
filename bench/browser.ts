// Benchmark of tabd as users run it: a cluster of tabs in headless Chromium on
// this machine (app served by Vite with the /signal relay, IndexedDB on disk,
// WebRTC data channels), and the same workload against a 3-member etcd 3.4 on
// loopback for comparison. Writes bench/results/latest.json and prints a table.
//
//   npx tsx bench/browser.ts [--seconds=5] [--serial=1000] [--trials=5] [--keys=100000] [--no-etcd]
//
// What is measured, and where:
// - tabd: every client operation runs inside a tab (window.tabd.localClient), timed with the
//   page's performance.now(), so Playwright's CDP round trip never counts. 256-byte values.
//   serial puts (one at a time, in the leader's tab: p50/p99), 64 concurrent clients putting
//   (in the leader's tab; and spread over the three tabs, followers forwarding), 64 concurrent
//   linearizable gets (ReadIndex) and serializable gets, in the leader's tab.
// - failover (≥ 5 trials each): the leader's tab crashed (CDP Page.crash: no pagehide) or
//   closed (page.close: pagehide, hand-over); the time from the crash/close until a survivor's
//   write is acknowledged under the new leader (a fresh write is started every 5 ms, since one
//   forwarded to the dead leader only fails at its timeout). A new tab then adopts the freed
//   identity, catches up, and the next trial starts with three healthy voters.
// - join catch-up: a separate cluster snapshotting every 400 entries is loaded with 100,000
//   keys (txns of 100 puts); a 4th tab opens; the time until it has applied everything the
//   leader had committed when it opened (it can only get there through a snapshot).
// - etcd: three members (default timings: 100 ms heartbeat, 1 s election) driven from Node
//   through src/client/etcd-client.ts (EtcdClient over the v3 JSON gateway, fetch/HTTP 1.1),
//   the same operations; failover = kill -9 of the leader process, writes through a survivor.
//   So etcd's figures include an HTTP+JSON hop per operation that tabd's in-tab client has not.
// - a profile of serial puts (where a put's time goes) from the leader tab's Ready loop.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Page } from 'playwright-core';

import { EtcdClient } from '../src/client/etcd-client.js';
import {
  chromiumPath,
  launchBrowser,
  openTab,
  startAppServer,
  status,
  waitFor,
  waitForLeader,
  type AppServer,
  type Browser,
} from '../test/e2e/harness.js';
import { crashTab, firstWriteUnderNewLeader, peerIdOf } from '../test/e2e/ops.js';
import { openCluster, waitForVoters } from '../test/e2e/cluster-helpers.js';
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from './etcd-cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, dflt: number): number {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const SECONDS = arg('seconds', 5);
const SERIAL = arg('serial', 1000);
const TRIALS = arg('trials', 5);
const KEYS = arg('keys', 100_000);
/** --skip=failover,join,etcd leaves phases out (while working on the others). */
const SKIP = new Set(
  (process.argv.find((s) => s.startsWith('--skip='))?.slice(7) ?? '').split(',').filter(Boolean),
);
const WITH_ETCD = !process.argv.includes('--no-etcd') && !SKIP.has('etcd');
const VALUE_BYTES = 256;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
};
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (s: string) => console.log(`[bench] ${s}`);

// ------------------------------------------------------------------ in-page workloads

interface LatencyResult {
  latencies: number[];
  errors: string[];
}
interface RateResult {
  ops: number;
  errors: number;
  seconds: number;
  latencies: number[];
}

/** serialPuts: n puts, one at a time, in this tab; per-put latency in ms. */
function serialPuts(page: Page, n: number, keyPrefix: string): Promise<LatencyResult> {
  return page.evaluate(
    async ([count, prefix, bytes]) => {
      const c = window.tabd!.localClient;
      const value = 'x'.repeat(bytes);
      const latencies: number[] = [];
      const errors: string[] = [];
      for (let i = 0; i < count; i++) {
        const t = performance.now();
        try {
          await c.put(`${prefix}/${i % 100}`, value);
          latencies.push(performance.now() - t);
        } catch (e) {
          // A failed put (an election under load: timeout, no-quorum) is counted, not timed.
          errors.push(String((e as { code?: string }).code));
        }
      }
      return { latencies, errors };
    },
    [n, keyPrefix, VALUE_BYTES] as const,
  );
}

/**
 * concurrent: `clients` async clients in this tab, each doing one operation at a time for
 * `seconds` (after `warmupSeconds`), starting at wall-clock time `startAt` (so that several
 * tabs can start together). op: 'put' | 'get' (linearizable) | 'sget' (serializable).
 */
function concurrent(
  page: Page,
  op: 'put' | 'get' | 'sget',
  clients: number,
  seconds: number,
  startAt: number,
  keyPrefix: string,
  warmupSeconds = 1,
): Promise<RateResult> {
  return page.evaluate(
    async ([kind, n, secs, start, prefix, bytes, warm]) => {
      const c = window.tabd!.localClient;
      const value = 'y'.repeat(bytes);
      while (Date.now() < start)
        await new Promise((r) => setTimeout(r, Math.min(20, start - Date.now())));
      const ch = new MessageChannel();
      const waiting: (() => void)[] = [];
      ch.port1.onmessage = () => waiting.shift()?.();
      const yieldTask = () =>
        new Promise<void>((resolve) => {
          waiting.push(resolve);
          ch.port2.postMessage(0);
        });
      const t0 = performance.now();
      const measureFrom = t0 + warm * 1000;
      const end = measureFrom + secs * 1000;
      let ops = 0;
      let errors = 0;
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: n }, async (_, w) => {
          for (let i = 0; performance.now() < end; i++) {
            const key = `${prefix}/${w}/${i % 16}`;
            const t = performance.now();
            try {
              if (kind === 'put') await c.put(key, value);
              else await c.get(key, { serializable: kind === 'sget' });
              // A serializable get resolves without any I/O: without yielding a task now and
              // then, 64 such clients would run on microtasks alone and starve the tab's node
              // (no ticks, no messages) until the phase ends.
              if (kind === 'sget') await yieldTask();
              const done = performance.now();
              if (t >= measureFrom && done <= end) {
                ops++;
                if (latencies.length < 50_000) latencies.push(done - t);
              }
            } catch {
              errors++;
            }
          }
        }),
      );
      ch.port1.close();
      return { ops, errors, seconds: secs, latencies };
    },
    [op, clients, seconds, startAt, keyPrefix, VALUE_BYTES, warmupSeconds] as const,
  );
}

/**
 * profileSerialPuts runs n serial puts in the leader's tab with its node instrumented (its
 * storage writes, its MsgApp sends and MsgAppResp receipts) and the followers' storage writes
 * timed, and splits each put's latency into its parts.
 */
async function profileSerialPuts(leader: Page, followers: Page[], n: number) {
  const instrument = (role: 'leader' | 'follower') => {
    type Ev = { t: number; kind: string; n?: number; index?: number; dur?: number; to?: string };
    const w = window as unknown as { __prof: Ev[] };
    w.__prof = [];
    const ev = w.__prof;
    const node = window.tabd!.runtime.server.node as unknown as {
      cfg: {
        durable: { persist(x: { entries: { index: number }[]; hardState?: unknown }): unknown };
        transport: { send(m: { type: string; entries: { index: number }[]; to: string }): void };
      };
      receive(m: { type: string; index: number; from: string; reject: boolean }): void;
    };
    const durable = node.cfg.durable;
    const persist = durable.persist.bind(durable);
    durable.persist = (x) => {
      const t = performance.now();
      const last = x.entries.at(-1)?.index ?? 0;
      const r = persist(x);
      const done = () =>
        ev.push({
          t,
          kind: 'persist',
          n: x.entries.length,
          index: last,
          dur: performance.now() - t,
        });
      if (r instanceof Promise) void r.then(done);
      else done();
      return r;
    };
    if (role === 'leader') {
      const transport = node.cfg.transport;
      const send = transport.send.bind(transport);
      transport.send = (m) => {
        if (m.type === 'MsgApp' && m.entries.length > 0)
          ev.push({ t: performance.now(), kind: 'app', index: m.entries.at(-1)!.index, to: m.to });
        send(m);
      };
      const receive = node.receive.bind(node);
      node.receive = (m) => {
        if (m.type === 'MsgAppResp' && !m.reject)
          ev.push({ t: performance.now(), kind: 'ack', index: m.index, to: m.from });
        if (m.type === 'MsgHeartbeatResp')
          ev.push({ t: performance.now(), kind: 'hbresp', to: m.from });
        receive(m);
      };
    }
  };
  await leader.evaluate(instrument, 'leader' as const);
  for (const f of followers) await f.evaluate(instrument, 'follower' as const);
  const puts = await leader.evaluate(async (count) => {
    const c = window.tabd!.localClient;
    const value = 'z'.repeat(256);
    const out: { start: number; end: number; index: number }[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      try {
        await c.put(`profile/${i % 100}`, value);
      } catch {
        continue;
      }
      const end = performance.now();
      out.push({
        start,
        end,
        index: window.tabd!.runtime.server.node.rawNode.raft.raftLog.committed,
      });
    }
    return out;
  }, n);
  type Ev = { t: number; kind: string; n?: number; index?: number; dur?: number; to?: string };
  const lev = await leader.evaluate(() => (window as unknown as { __prof: Ev[] }).__prof);
  const fev = (
    await Promise.all(
      followers.map((f) => f.evaluate(() => (window as unknown as { __prof: Ev[] }).__prof)),
    )
  ).flat();
  const parts = {
    total: [] as number[],
    toLeaderPersisted: [] as number[],
    toFirstAck: [] as number[],
    firstAckToDone: [] as number[],
    leaderPersistedToDone: [] as number[],
  };
  for (const p of puts.slice(10)) {
    const inWin = lev.filter((e) => e.t >= p.start && e.t <= p.end);
    const entryPersist = inWin.find((e) => e.kind === 'persist' && (e.n ?? 0) > 0);
    const acks = inWin.filter((e) => e.kind === 'ack').sort((a, b) => a.t - b.t);
    if (!entryPersist || acks.length === 0) continue;
    parts.total.push(p.end - p.start);
    const persisted = entryPersist.t + (entryPersist.dur ?? 0);
    parts.toLeaderPersisted.push(persisted - p.start);
    parts.toFirstAck.push(acks[0]!.t - p.start);
    const committedAt = Math.max(persisted, acks[0]!.t);
    parts.firstAckToDone.push(p.end - acks[0]!.t);
    parts.leaderPersistedToDone.push(p.end - committedAt);
  }
  const med = (xs: number[]) => round(pct(xs, 50), 2);
  const leaderEntryWrites = lev
    .filter((e) => e.kind === 'persist' && (e.n ?? 0) > 0)
    .map((e) => e.dur ?? 0);
  const leaderStateWrites = lev
    .filter((e) => e.kind === 'persist' && e.n === 0)
    .map((e) => e.dur ?? 0);
  const followerWrites = fev.filter((e) => e.kind === 'persist').map((e) => e.dur ?? 0);
  // Heartbeat round trips are not separable from sends here; report the raw IndexedDB and
  // channel figures measured directly below instead.
  const kinds: Record<string, number> = {};
  for (const e of lev) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  return {
    leader_events: kinds,
    puts_profiled: parts.total.length,
    put_p50_ms: med(parts.total),
    propose_to_leader_persisted_p50_ms: med(parts.toLeaderPersisted),
    propose_to_first_follower_ack_p50_ms: med(parts.toFirstAck),
    commit_to_acknowledged_p50_ms: med(parts.leaderPersistedToDone),
    leader_idb_write_entries_p50_ms: med(leaderEntryWrites),
    leader_idb_write_hardstate_only_p50_ms: med(leaderStateWrites),
    leader_idb_write_p99_ms: round(pct([...leaderEntryWrites, ...leaderStateWrites], 99), 1),
    leader_idb_write_max_ms: round(Math.max(...leaderEntryWrites, ...leaderStateWrites), 1),
    leader_idb_writes_per_put: round(
      (leaderEntryWrites.length + leaderStateWrites.length) / Math.max(1, puts.length),
      2,
    ),
    follower_idb_write_p50_ms: med(followerWrites),
    follower_idb_write_p99_ms: round(pct(followerWrites, 99), 1),
    follower_idb_writes_per_put: round(
      followerWrites.length / Math.max(1, followers.length) / Math.max(1, puts.length),
      2,
    ),
  };
}

/** rawIdbPut: latencies of one-put readwrite transactions of the given durability. */
function rawIdbPut(page: Page, durability: 'relaxed' | 'strict'): Promise<number[]> {
  return page.evaluate(
    (dur) =>
      new Promise<number[]>((resolve, reject) => {
        const rq = indexedDB.open(`bench-probe-${Math.random()}`);
        rq.onupgradeneeded = () => rq.result.createObjectStore('s');
        rq.onerror = () => reject(rq.error);
        rq.onsuccess = async () => {
          const db = rq.result;
          const v = new Uint8Array(300);
          const out: number[] = [];
          for (let i = 0; i < 300; i++) {
            const t = performance.now();
            await new Promise<void>((ok, fail) => {
              const tx = db.transaction('s', 'readwrite', { durability: dur });
              tx.objectStore('s').put(v, i % 10);
              tx.oncomplete = () => ok();
              tx.onerror = () => fail(tx.error);
            });
            out.push(performance.now() - t);
          }
          db.close();
          resolve(out.slice(20));
        };
      }),
    durability,
  );
}

/**
 * channelRtt: round trips of a 300-byte message over a fresh RTCDataChannel pair between two
 * tabs (signaled through BroadcastChannel), the transport's floor.
 */
async function channelRtt(a: Page, b: Page): Promise<number[]> {
  const room = `rtt-${Math.random().toString(36).slice(2)}`;
  const answerer = b.evaluate(
    (r) =>
      new Promise<void>((resolve) => {
        const bc = new BroadcastChannel(r);
        const pc = new RTCPeerConnection({ iceServers: [] });
        pc.onicecandidate = (e) =>
          bc.postMessage({ from: 'b', cand: e.candidate?.toJSON() ?? null });
        pc.ondatachannel = (e) => {
          const ch = e.channel;
          ch.binaryType = 'arraybuffer';
          ch.onmessage = (m) => ch.send(m.data as ArrayBuffer);
          ch.onclose = () => {
            pc.close();
            bc.close();
          };
          resolve();
        };
        bc.onmessage = async (e) => {
          const d = e.data as {
            from: string;
            sdp?: RTCSessionDescriptionInit;
            cand?: RTCIceCandidateInit | null;
          };
          if (d.from !== 'a') return;
          if (d.sdp) {
            await pc.setRemoteDescription(d.sdp);
            const ans = await pc.createAnswer();
            await pc.setLocalDescription(ans);
            bc.postMessage({ from: 'b', sdp: pc.localDescription!.toJSON() });
          } else if (d.cand) await pc.addIceCandidate(d.cand);
        };
      }),
    room,
  );
  const rtts = await a.evaluate(
    (r) =>
      new Promise<number[]>((resolve) => {
        const bc = new BroadcastChannel(r);
        const pc = new RTCPeerConnection({ iceServers: [] });
        const ch = pc.createDataChannel('rtt', { ordered: true });
        ch.binaryType = 'arraybuffer';
        pc.onicecandidate = (e) =>
          bc.postMessage({ from: 'a', cand: e.candidate?.toJSON() ?? null });
        bc.onmessage = async (e) => {
          const d = e.data as {
            from: string;
            sdp?: RTCSessionDescriptionInit;
            cand?: RTCIceCandidateInit | null;
          };
          if (d.from !== 'b') return;
          if (d.sdp) await pc.setRemoteDescription(d.sdp);
          else if (d.cand) await pc.addIceCandidate(d.cand);
        };
        ch.onopen = async () => {
          const out: number[] = [];
          const payload = new Uint8Array(300);
          for (let i = 0; i < 300; i++) {
            const t = performance.now();
            await new Promise<void>((ok) => {
              ch.onmessage = () => ok();
              ch.send(payload);
            });
            out.push(performance.now() - t);
          }
          ch.close();
          pc.close();
          bc.close();
          resolve(out.slice(20));
        };
        void pc.createOffer().then(async (o) => {
          await pc.setLocalDescription(o);
          bc.postMessage({ from: 'a', sdp: pc.localDescription!.toJSON() });
        });
      }),
    room,
  );
  await answerer;
  return rtts;
}

/** heapMb: the tab's JS heap in use after a full GC (CDP). */
async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const h = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    return round(h.usedSize / 2 ** 20, 1);
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// ------------------------------------------------------------------ tabd phases

async function waitHealthy(pages: Page[]): Promise<Page> {
  const { leader } = await waitForVoters(pages, 3, 30_000);
  await waitFor(
    'every voter healthy on the leader',
    () => status(leader),
    (s) => s.members.filter((m) => m.role === 'voter').every((m) => m.healthy) && s.quorum,
    15_000,
  );
  return leader;
}

interface FailoverTrial {
  /** total: crash/close → first write acknowledged under the new leader. */
  total: number;
  /** timeoutNow: close → a survivor received the old leader's MsgTimeoutNow (close only). */
  timeoutNow?: number;
  /** elected: crash/close → a survivor became leader. */
  elected?: number;
  /** leaderSide: what the closing leader's pagehide did (close only). */
  leaderSide?: string;
}

/** watchElection records, in a survivor, when it receives MsgTimeoutNow and when it becomes leader. */
function watchElection(page: Page): Promise<void> {
  return page.evaluate(() => {
    const node = window.tabd!.runtime.server.node as unknown as {
      receive(m: { type: string }): void;
    };
    const raft = window.tabd!.runtime.server.node.rawNode.raft as unknown as {
      becomeLeader(): void;
    };
    const w = window as unknown as { __failover: { timeoutNow?: number; elected?: number } };
    w.__failover = {};
    const receive = node.receive.bind(node);
    node.receive = (m) => {
      if (m.type === 'MsgTimeoutNow') w.__failover.timeoutNow ??= Date.now();
      receive(m);
    };
    const become = raft.becomeLeader.bind(raft);
    raft.becomeLeader = () => {
      w.__failover.elected ??= Date.now();
      become();
    };
  });
}

/**
 * watchHandOver records, in the leader's tab, what its pagehide did (into localStorage, which
 * outlives the tab and is shared by the origin's tabs): whether the node stopped as leader and
 * whether MsgTimeoutNow went to the mesh, with the channel's state.
 */
function watchHandOver(page: Page): Promise<void> {
  return page.evaluate(() => {
    const rt = window.tabd!.runtime;
    const mesh = rt.transport as unknown as {
      send(m: { type: string; to: string }): void;
      links: Map<string, { open: boolean; channel?: RTCDataChannel }>;
    };
    const node = rt.server.node as unknown as {
      stop(o: unknown): void;
      rawNode: { raft: { state: string } };
    };
    const key = `bench-handover-${rt.identity.peerId}`;
    const lines: string[] = [];
    const save = () => localStorage.setItem(key, JSON.stringify(lines));
    const stop = node.stop.bind(node);
    node.stop = (o) => {
      lines.push(`stop as ${node.rawNode.raft.state}`);
      save();
      stop(o);
    };
    const send = mesh.send.bind(mesh);
    mesh.send = (m) => {
      if (m.type === 'MsgTimeoutNow') {
        const l = mesh.links.get(m.to);
        lines.push(
          `MsgTimeoutNow to ${m.to} (channel ${l?.open ? 'open' : 'not open'}, ${l?.channel?.bufferedAmount ?? '-'} bytes buffered)`,
        );
        save();
      }
      send(m);
    };
  });
}

/** failoverTrials: crash or close the leader's tab `trials` times, restoring 3 voters between. */
async function failoverTrials(
  browser: Browser,
  app: AppServer,
  cluster: string,
  pages: Page[],
  how: 'crash' | 'close',
  trials: number,
): Promise<FailoverTrial[]> {
  const out: FailoverTrial[] = [];
  for (let t = 0; t < trials; t++) {
    const leader = await waitHealthy(pages);
    await sleep(500);
    const oldId = await peerIdOf(leader);
    const survivors = pages.filter((p) => p !== leader);
    for (const p of survivors) await watchElection(p);
    if (how === 'close') await watchHandOver(leader);
    const pending = firstWriteUnderNewLeader(survivors[0]!, oldId, `failover-${how}`, 20_000);
    await sleep(100);
    const at = Date.now();
    if (how === 'crash') await crashTab(leader);
    else await leader.close({ runBeforeUnload: false });
    const r = await pending;
    if ('error' in r) throw new Error(`${how} trial ${t + 1}: ${r.error}`);
    const seen = await Promise.all(
      survivors.map((p) =>
        p.evaluate(
          () =>
            (window as unknown as { __failover: { timeoutNow?: number; elected?: number } })
              .__failover,
        ),
      ),
    );
    const first = (xs: (number | undefined)[]) => {
      const v = xs.filter((x): x is number => x !== undefined);
      return v.length > 0 ? Math.min(...v) - at : undefined;
    };
    const trial: FailoverTrial = { total: r.at - at };
    if (how === 'close') {
      const lines = await survivors[0]!.evaluate(
        (id) => localStorage.getItem(`bench-handover-${id}`),
        oldId,
      );
      trial.leaderSide = lines ?? 'nothing recorded';
    }
    const timeoutNow = first(seen.map((x) => x.timeoutNow));
    const elected = first(seen.map((x) => x.elected));
    if (timeoutNow !== undefined) trial.timeoutNow = timeoutNow;
    if (elected !== undefined) trial.elected = elected;
    out.push(trial);
    log(
      `failover ${how} trial ${t + 1}: ${trial.total} ms` +
        (timeoutNow !== undefined ? `; MsgTimeoutNow received after ${timeoutNow} ms` : '') +
        (elected !== undefined ? `; new leader after ${elected} ms` : '') +
        (trial.leaderSide !== undefined ? `; leader's pagehide: ${trial.leaderSide}` : ''),
    );
    if (how === 'crash') await leader.close().catch(() => {});
    pages.splice(pages.indexOf(leader), 1);
    // The freed identity is adopted by a new tab: three voters again.
    const heir = await openTab(browser.context, app.url, cluster);
    if ((await peerIdOf(heir)) !== oldId)
      log(`note: the new tab took identity ${await peerIdOf(heir)}, not ${oldId}`);
    pages.push(heir);
  }
  await waitHealthy(pages);
  return out;
}

async function joinCatchUp(browser: Browser, app: AppServer, keys: number) {
  // Snapshot a few times during the load (one entry per txn of 100 puts), keeping 50 entries.
  const every = Math.max(20, Math.min(400, Math.floor(keys / 100 / 2.5)));
  const query = `&snapshotEntries=${every}&snapshotCatchUpEntries=50`;
  const cluster = `bench-join-${Date.now().toString(36)}`;
  const { pages, leader } = await openCluster(browser.context, app.url, cluster, 3, query);
  const t0 = Date.now();
  const loadRetries = await leader.evaluate(
    async ([n, bytes]) => {
      const c = window.tabd!.localClient;
      const value = 'k'.repeat(bytes);
      const batch = 100;
      let next = 0;
      let retries = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let start = next; start < n; start = next) {
            next += batch;
            const success = [];
            for (let i = start; i < Math.min(n, start + batch); i++) {
              success.push({
                type: 'put' as const,
                request: {
                  key: new TextEncoder().encode(`key/${String(i).padStart(6, '0')}`),
                  value: new TextEncoder().encode(value),
                },
              });
            }
            // A txn of puts may be retried safely (same keys, same values): a timeout on this
            // busy machine is not a reason to give up the phase.
            for (let attempt = 1; ; attempt++) {
              try {
                await c.txn({ compare: [], success, failure: [] });
                break;
              } catch (e) {
                retries++;
                if (attempt >= 5) throw e;
              }
            }
          }
        }),
      );
      return retries;
    },
    [keys, VALUE_BYTES] as const,
  );
  const loadMs = Date.now() - t0;
  if (loadRetries > 0) log(`join: ${loadRetries} txn(s) of the load were retried after a timeout`);
  const count = await leader.evaluate(
    async () =>
      (await window.tabd!.localClient.get('key/', { prefix: true, countOnly: true })).count,
  );
  if (count !== keys) throw new Error(`loaded ${count} keys, expected ${keys}`);
  const st = await waitFor(
    'a snapshot past the load',
    () => status(leader),
    (s) => s.snapshotIndex > 0 && s.commitIndex - s.snapshotIndex < every,
    60_000,
  );
  const firstIndex = await leader.evaluate(() =>
    window.tabd!.runtime.server.node.memStorage.firstIndex(),
  );
  const snapshotBytes = await leader.evaluate(
    () => window.tabd!.runtime.server.node.memStorage.snapshot().data.length,
  );
  log(
    `join: ${keys} keys loaded in ${loadMs} ms; leader commit ${st.commitIndex}, snapshot ${st.snapshotIndex} (${(snapshotBytes / 2 ** 20).toFixed(1)} MiB), first log index ${firstIndex}`,
  );
  const heap100k = await heapMb(leader);

  const target = st.commitIndex;
  const openedAt = Date.now();
  const page = await browser.context.newPage();
  await page.goto(`${app.url}/?cluster=${encodeURIComponent(cluster)}${query}`);
  await waitFor(
    'the 4th tab to start',
    () => page.evaluate(() => document.body.dataset.ready).catch(() => undefined),
    (v) => v === 'true',
    60_000,
    20,
  );
  const readyAt = Date.now();
  const trace: string[] = [];
  const caught = await waitFor(
    'the 4th tab to catch up',
    async () => {
      const st = await status(page);
      const id = st.id;
      const views = await Promise.all(
        pages.map((lp) =>
          lp
            .evaluate((peer) => {
              const node = window.tabd!.runtime.server.node;
              if (node.rawNode.raft.state !== 'leader') return undefined;
              const p = node.rawNode.status().progress?.get(peer as never);
              return p ? `${p.state} match ${p.match}` : 'not a member yet';
            }, id)
            .catch(() => undefined),
        ),
      );
      const pr = views.find((v) => v !== undefined) ?? 'no leader';
      const line = `${Date.now() - openedAt} ms: applied ${st.appliedIndex}, snapshot ${st.snapshotIndex}, received ${(st.transport.bytesReceived / 2 ** 20).toFixed(1)} MiB; leader's view of it: ${pr}`;
      if (trace.at(-1)?.replace(/^\d+ ms: /, '') !== line.replace(/^\d+ ms: /, ''))
        trace.push(line);
      return st;
    },
    (s) => s.appliedIndex >= target,
    120_000,
    20,
  );
  const caughtAt = Date.now();
  if (process.env['BENCH_TRACE']) for (const line of trace) log(`join trace: ${line}`);
  if (caught.snapshotIndex === 0) throw new Error('the 4th tab caught up without a snapshot');
  const got = await page.evaluate(
    async () =>
      (
        await window.tabd!.localClient.get('key/', {
          prefix: true,
          countOnly: true,
          serializable: true,
        })
      ).count,
  );
  if (got !== keys) throw new Error(`the 4th tab has ${got} keys, expected ${keys}`);
  log(
    `join: 4th tab ready ${readyAt - openedAt} ms after opening, caught up ${caughtAt - openedAt} ms after opening (snapshot ${caught.snapshotIndex})`,
  );
  const heapJoined = await heapMb(page);
  for (const p of [...pages, page]) await p.close({ runBeforeUnload: false }).catch(() => {});
  return {
    join_catchup_100k_keys_ms: caughtAt - openedAt,
    join_catchup_after_node_start_ms: caughtAt - readyAt,
    join_page_ready_ms: readyAt - openedAt,
    join_keys: keys,
    join_snapshot_bytes: snapshotBytes,
    load_100k_keys_ms: loadMs,
    memory_leader_tab_100k_keys_mb: heap100k,
    memory_joined_tab_100k_keys_mb: heapJoined,
  };
}

// ------------------------------------------------------------------ etcd

async function etcdLeader(cluster: EtcdCluster): Promise<EtcdMember> {
  return waitFor(
    'an etcd leader',
    async () => {
      for (const m of cluster.members) {
        if (!m.child) continue;
        try {
          const st = await new EtcdClient({
            endpoint: m.endpoint,
            requestTimeoutMs: 1000,
          }).status();
          if (st.leader === '') continue;
          for (const n of cluster.members) {
            if (!n.child) continue;
            const s = await new EtcdClient({
              endpoint: n.endpoint,
              requestTimeoutMs: 1000,
            }).status();
            if (s.memberId === st.leader) return n;
          }
        } catch {
          // try the next member
        }
      }
      return undefined;
    },
    (m) => m !== undefined,
    30_000,
    100,
  ) as Promise<EtcdMember>;
}

async function etcdBench(): Promise<Record<string, number | number[]>> {
  const cluster = await startEtcdCluster(3);
  try {
    const leader = await etcdLeader(cluster);
    const client = new EtcdClient({ endpoint: leader.endpoint });
    const value = 'x'.repeat(VALUE_BYTES);
    for (let i = 0; i < 200; i++) await client.put(`warm/${i % 100}`, value);
    const serial: number[] = [];
    for (let i = 0; i < SERIAL; i++) {
      const t = performance.now();
      await client.put(`serial/${i % 100}`, value);
      serial.push(performance.now() - t);
    }
    log(
      `etcd serial puts: p50 ${pct(serial, 50).toFixed(2)} ms, p99 ${pct(serial, 99).toFixed(2)} ms`,
    );
    const conc = async (kind: 'put' | 'get' | 'sget'): Promise<number> => {
      const t0 = performance.now();
      const measureFrom = t0 + 1000;
      const end = measureFrom + SECONDS * 1000;
      let ops = 0;
      await Promise.all(
        Array.from({ length: 64 }, async (_, w) => {
          for (let i = 0; performance.now() < end; i++) {
            const key = `c/${w}/${i % 16}`;
            const t = performance.now();
            try {
              if (kind === 'put') await client.put(key, value);
              else await client.get(key, { serializable: kind === 'sget' });
              if (t >= measureFrom && performance.now() <= end) ops++;
            } catch {
              // counted as not done
            }
          }
        }),
      );
      return ops / SECONDS;
    };
    const putConc = await conc('put');
    const getConc = await conc('get');
    const sgetConc = await conc('sget');
    log(
      `etcd 64 clients: ${putConc.toFixed(0)} puts/s, ${getConc.toFixed(0)} linearizable gets/s, ${sgetConc.toFixed(0)} serializable gets/s`,
    );

    const failovers: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const lead = await etcdLeader(cluster);
      const survivor = cluster.members.find((m) => m !== lead && m.child)!;
      const sc = new EtcdClient({ endpoint: survivor.endpoint, requestTimeoutMs: 10_000 });
      await sc.put('failover/warm', 'x');
      // As for tabd: the first write acknowledged under a new leader (a later raft term) after
      // the kill; writes the old leader committed just before it do not count.
      const oldTerm = (await sc.status()).raftTerm;
      const clock = { killedAt: Number.POSITIVE_INFINITY, done: undefined as number | undefined };
      let n = 0;
      const attempt = () => {
        void sc.put('failover/k', `v${++n}`).then(
          (r) => {
            const now = Date.now();
            if (clock.done === undefined && now > clock.killedAt && r.header.raftTerm > oldTerm)
              clock.done = now;
          },
          () => {},
        );
      };
      const timer = setInterval(attempt, 5);
      await sleep(100);
      clock.killedAt = Date.now();
      await cluster.kill(lead);
      const done = await waitFor(
        'a write after the etcd leader was killed',
        async () => clock.done,
        (d) => d !== undefined,
        20_000,
        5,
      );
      clearInterval(timer);
      failovers.push(done! - clock.killedAt);
      log(`etcd failover trial ${t + 1}: ${done! - clock.killedAt} ms`);
      await cluster.restart(lead);
      await sleep(1500);
    }
    return {
      put_serial_p50_ms: round(pct(serial, 50), 3),
      put_serial_p99_ms: round(pct(serial, 99), 3),
      put_conc64_ops_s: Math.round(putConc),
      get_linearizable_conc64_ops_s: Math.round(getConc),
      get_serializable_conc64_ops_s: Math.round(sgetConc),
      failover_crash_ms_p50: pct(failovers, 50),
      failover_crash_ms_all: failovers,
    };
  } finally {
    await cluster.stop();
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const load0 = loadavg();
  log(`machine: ${cpus().length} CPUs, load average ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const app = await startAppServer();
  const browser = await launchBrowser();
  const results: Record<string, unknown> = {};
  try {
    const cluster = `bench-${Date.now().toString(36)}`;
    const { pages } = await openCluster(browser.context, app.url, cluster, 3);
    log('3-tab cluster up');
    // Each phase runs in the tab that leads when it starts, and records whether leadership
    // moved while it ran (an election in a phase makes its figure pessimistic).
    const elections: Record<string, number> = {};
    const phase = async <T>(
      name: string,
      run: (leader: Page, followers: Page[]) => Promise<T>,
    ): Promise<T> => {
      const { leader, statuses } = await waitForLeader(pages, 30_000);
      const term0 = statuses[0]!.term;
      const out = await run(
        leader,
        pages.filter((p) => p !== leader),
      );
      const term1 = Math.max(...(await Promise.all(pages.map(status))).map((st) => st.term));
      elections[name] = term1 - term0;
      if (term1 !== term0) log(`note: the term moved ${term0} → ${term1} during ${name}`);
      return out;
    };

    await phase('warm-up', (leader) => serialPuts(leader, 200, 'warm'));
    const serial = await phase('serial', (leader) => serialPuts(leader, SERIAL, 'serial'));
    results['put_serial_p50_ms'] = round(pct(serial.latencies, 50), 3);
    results['put_serial_p99_ms'] = round(pct(serial.latencies, 99), 3);
    results['put_serial_errors'] = serial.errors.length;
    log(
      `serial puts: p50 ${results['put_serial_p50_ms']} ms, p99 ${results['put_serial_p99_ms']} ms`,
    );

    const put64 = await phase('put64', (leader) =>
      concurrent(leader, 'put', 64, SECONDS, Date.now() + 200, 'c'),
    );
    results['put_conc64_ops_s'] = Math.round(put64.ops / put64.seconds);
    results['put_conc64_p50_ms'] = round(pct(put64.latencies, 50), 2);
    results['put_conc64_p99_ms'] = round(pct(put64.latencies, 99), 2);
    log(
      `64 clients in the leader tab: ${results['put_conc64_ops_s']} puts/s (p50 ${results['put_conc64_p50_ms']} ms, errors ${put64.errors})`,
    );

    const spread = await phase('put64-spread', () => {
      const startAt = Date.now() + 500;
      return Promise.all(
        pages.map((p, i) => concurrent(p, 'put', i === 0 ? 22 : 21, SECONDS, startAt, `s${i}`)),
      );
    });
    results['put_conc64_spread_ops_s'] = Math.round(
      spread.reduce((sum, r) => sum + r.ops, 0) / SECONDS,
    );
    log(`64 clients spread over 3 tabs: ${results['put_conc64_spread_ops_s']} puts/s`);

    const get64 = await phase('get64', (leader) =>
      concurrent(leader, 'get', 64, SECONDS, Date.now() + 200, 'c'),
    );
    results['get_linearizable_conc64_ops_s'] = Math.round(get64.ops / get64.seconds);
    results['get_linearizable_conc64_p50_ms'] = round(pct(get64.latencies, 50), 2);
    const sget64 = await phase('sget64', (leader) =>
      concurrent(leader, 'sget', 64, SECONDS, Date.now() + 200, 'c'),
    );
    results['get_serializable_conc64_ops_s'] = Math.round(sget64.ops / sget64.seconds);
    log(
      `64 clients reading: ${results['get_linearizable_conc64_ops_s']} linearizable gets/s, ${results['get_serializable_conc64_ops_s']} serializable gets/s`,
    );

    results['profile'] = await phase('profile', async (leader, followers) => {
      const profile = await profileSerialPuts(leader, followers, 300);
      const idb = await rawIdbPut(leader, 'relaxed');
      const idbStrict = await rawIdbPut(leader, 'strict');
      const rtt = await channelRtt(followers[0]!, followers[1]!);
      return {
        ...profile,
        raw_idb_one_put_tx_relaxed_p50_ms: round(pct(idb, 50), 2),
        raw_idb_one_put_tx_strict_p50_ms: round(pct(idbStrict, 50), 2),
        raw_datachannel_rtt_p50_ms: round(pct(rtt, 50), 2),
      };
    });
    log(`profile: ${JSON.stringify(results['profile'])}`);
    results['term_changes_per_phase'] = elections;
    const heaps = await Promise.all(pages.map(heapMb));
    results['memory_per_tab_mb'] = round(heaps.reduce((a, b) => a + b, 0) / heaps.length, 1);

    if (!SKIP.has('failover')) {
      const crash = await failoverTrials(browser, app, cluster, pages, 'crash', TRIALS);
      results['failover_crash_ms_p50'] = pct(
        crash.map((x) => x.total),
        50,
      );
      results['failover_crash_ms_all'] = crash.map((x) => x.total);
      results['failover_crash_elected_ms_all'] = crash.map((x) => x.elected ?? null);
      const close = await failoverTrials(browser, app, cluster, pages, 'close', TRIALS);
      results['failover_close_ms_p50'] = pct(
        close.map((x) => x.total),
        50,
      );
      results['failover_close_ms_all'] = close.map((x) => x.total);
      results['failover_close_timeoutnow_ms_all'] = close.map((x) => x.timeoutNow ?? null);
      results['failover_close_elected_ms_all'] = close.map((x) => x.elected ?? null);
      results['failover_close_leader_side'] = close.map((x) => x.leaderSide ?? null);
    }
    for (const p of pages) await p.close({ runBeforeUnload: false }).catch(() => {});

    if (!SKIP.has('join')) Object.assign(results, await joinCatchUp(browser, app, KEYS));
  } finally {
    await browser.close();
    await app.stop();
  }

  let etcd: Record<string, number | number[]> | undefined;
  if (WITH_ETCD) etcd = await etcdBench();

  const ratios: Record<string, number> = {};
  if (etcd) {
    for (const k of [
      'put_serial_p50_ms',
      'put_serial_p99_ms',
      'put_conc64_ops_s',
      'get_linearizable_conc64_ops_s',
      'get_serializable_conc64_ops_s',
      'failover_crash_ms_p50',
    ]) {
      const a = results[k] as number;
      const b = etcd[k] as number;
      if (typeof a === 'number' && typeof b === 'number' && b !== 0) ratios[k] = round(a / b, 2);
    }
  }
  const load1 = loadavg();
  let chromiumVersion = '';
  try {
    chromiumVersion = execFileSync(chromiumPath, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // unknown
  }
  const out = {
    ...results,
    etcd: etcd ?? null,
    ratios_tabd_over_etcd: ratios,
    targets: {
      put_serial_p50_ms: 1.3,
      put_conc64_ops_s: 12_000,
      failover_crash_ms_p50: 400,
      failover_close_ms_p50: 50,
    },
    setup: {
      date: new Date().toISOString(),
      cpus: cpus().length,
      load_average_before: load0.map((x) => round(x, 2)),
      load_average_after: load1.map((x) => round(x, 2)),
      node: process.version,
      chromium: chromiumVersion,
      value_bytes: VALUE_BYTES,
      seconds_per_rate_phase: SECONDS,
      serial_puts: SERIAL,
      failover_trials: TRIALS,
      tabd_client: 'in the tab (window.tabd.localClient), timed with performance.now()',
      etcd_client: 'from Node: src/client/etcd-client.ts (v3 JSON gateway over HTTP/1.1, fetch)',
      etcd_version: (() => {
        try {
          return execFileSync('/usr/bin/etcd', ['--version'], { encoding: 'utf8' }).split('\n')[0];
        } catch {
          return '';
        }
      })(),
    },
  };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  printTable(out as Record<string, unknown>, etcd);
  log(`wrote bench/results/latest.json`);
}

function printTable(
  r: Record<string, unknown>,
  etcd: Record<string, number | number[]> | undefined,
): void {
  const rows: [string, string, string, string, string][] = [];
  const fmt = (v: unknown) =>
    typeof v === 'number'
      ? Number.isInteger(v)
        ? v.toLocaleString('en')
        : v.toFixed(2)
      : v === undefined
        ? '—'
        : String(v);
  const targets: Record<string, string> = {
    put_serial_p50_ms: '≤ 1.3',
    put_conc64_ops_s: '≥ 12,000',
    failover_crash_ms_p50: '≤ 400',
    failover_close_ms_p50: '≤ 50',
  };
  for (const k of [
    'put_serial_p50_ms',
    'put_serial_p99_ms',
    'put_conc64_ops_s',
    'put_conc64_spread_ops_s',
    'get_linearizable_conc64_ops_s',
    'get_serializable_conc64_ops_s',
    'failover_crash_ms_p50',
    'failover_close_ms_p50',
    'join_catchup_100k_keys_ms',
    'join_page_ready_ms',
    'memory_per_tab_mb',
    'memory_joined_tab_100k_keys_mb',
  ]) {
    const e = etcd?.[k];
    const ratio =
      typeof r[k] === 'number' && typeof e === 'number' && e !== 0
        ? ((r[k] as number) / e).toFixed(2)
        : '';
    rows.push([k, fmt(r[k]), e === undefined ? '' : fmt(e), ratio, targets[k] ?? '']);
  }
  const header: [string, string, string, string, string] = [
    'metric',
    'tabd',
    'etcd 3.4',
    'tabd/etcd',
    'target',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('\n' + line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nfailover trials (ms): crash ${JSON.stringify(r['failover_crash_ms_all'])}, close ${JSON.stringify(r['failover_close_ms_all'])}${etcd ? `, etcd kill -9 ${JSON.stringify(etcd['failover_crash_ms_all'])}` : ''}`,
  );
  console.log(`put profile (leader tab, serial): ${JSON.stringify(r['profile'])}`);
}

await main();
