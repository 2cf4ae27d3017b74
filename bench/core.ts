// Benchmark of the Raft core alone: three real RawNodes over MemoryStorage,
// wired by an in-process, zero-latency loopback network, driven by the Ready
// loop src/raft/index.ts prescribes (persist, send, apply, advance). No
// transport, no IndexedDB, no KV layer: this is the ceiling those add to.
//
// Phases, each after a warm-up and for a fixed wall-clock duration:
//   serial     propose one 256-byte entry on the leader, run until the leader
//              applies it, repeat; per-proposal latency p50/p99 in µs.
//   batch N    propose N entries, run until the leader applies the last one.
// The log is snapshotted and compacted on every node every 10,000 entries
// (keeping 1,000), so memory is steady; heap growth is heapUsed after minus
// before each phase, both measured after a full GC when GC is exposed.
// Besides wall-clock rates it prints commits per CPU-second of this process
// (process.cpuUsage), which stays meaningful on a shared, loaded machine;
// the load average is printed for the same reason.
//
// Run:   node --expose-gc --import tsx bench/core.ts        (accurate heap figures)
//   or:  npm run bench:core                                 (heap figures include garbage)
// Options: --seconds=3 --warmup=1
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  EntryType,
  MemoryStorage,
  RawNode,
  SeededRng,
  logIndex,
  nodeId,
  type ConfState,
  type Message,
  type NodeId,
} from '../src/raft/index.js';

const PAYLOAD_BYTES = 256;
const SNAPSHOT_EVERY_ENTRIES = 10_000;
const KEEP_ENTRIES = 1_000;
const TICK_MS = 10;

function arg(name: string, dflt: number): number {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const PHASE_SECONDS = arg('seconds', 3);
const WARMUP_SECONDS = arg('warmup', 1);

interface BenchNode {
  readonly id: NodeId;
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
  confState: ConfState;
  /** applied: index of the last entry applied. */
  applied: number;
  /** appliedProposals: non-empty normal entries applied (the benchmark's proposals). */
  appliedProposals: number;
  lastSnapshot: number;
}

class Loopback {
  readonly nodes: BenchNode[] = [];
  private readonly byId = new Map<NodeId, BenchNode>();
  private queue: Message[] = [];
  private lastTickAt = performance.now();
  messagesDelivered = 0;

  constructor(ids: readonly string[], seed: number) {
    const rng = new SeededRng(seed);
    const voters = ids.map(nodeId);
    for (const id of voters) {
      const storage = new MemoryStorage();
      const raw = new RawNode({
        id,
        storage,
        electionTicks: 10,
        heartbeatTicks: 1,
        rng: new SeededRng(rng.nextUint32()),
      });
      raw.bootstrap(voters);
      const n: BenchNode = {
        id,
        raw,
        storage,
        confState: {
          voters: [],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
        applied: 0,
        appliedProposals: 0,
        lastSnapshot: 0,
      };
      this.nodes.push(n);
      this.byId.set(id, n);
    }
    this.handleAll();
  }

  /** handle runs one node's Ready loop: persist, send, apply, advance. */
  private handle(n: BenchNode): void {
    while (n.raw.hasReady()) {
      const rd = n.raw.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      for (const m of rd.messages) this.queue.push(m);
      if (rd.snapshot) {
        n.confState = rd.snapshot.metadata.confState;
        n.applied = rd.snapshot.metadata.index;
      }
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) n.confState = n.raw.applyConfChangeEntry(e);
        else if (e.data.length > 0) n.appliedProposals++;
        n.applied = e.index;
      }
      n.raw.advance(rd);
    }
  }

  private handleAll(): void {
    for (const n of this.nodes) this.handle(n);
  }

  /** deliverRound hands every queued message to its node, then lets each node handle its Ready once. */
  private deliverRound(): void {
    const msgs = this.queue;
    this.queue = [];
    for (const m of msgs) this.byId.get(m.to)?.raw.step(m);
    this.messagesDelivered += msgs.length;
    this.handleAll();
  }

  /** runUntil delivers rounds until done() holds; ticks every TICK_MS of wall time, like a node runtime would. */
  runUntil(done: () => boolean): void {
    this.handleAll();
    for (let rounds = 0; !done(); rounds++) {
      if (this.queue.length === 0 || rounds > 10_000) throw new Error('cluster stalled');
      this.deliverRound();
    }
    const now = performance.now();
    if (now - this.lastTickAt >= TICK_MS) {
      this.lastTickAt = now;
      for (const n of this.nodes) n.raw.tick();
    }
  }

  leader(): BenchNode {
    const l = this.nodes.find((n) => n.raw.raft.state === 'leader');
    if (!l) throw new Error('no leader');
    return l;
  }

  /**
   * compact snapshots and compacts each node's storage once it applied
   * SNAPSHOT_EVERY_ENTRIES more entries (or now, when forced: heap samples
   * are taken right after one, so they compare like with like).
   */
  compact(force = false): void {
    for (const n of this.nodes) {
      if (n.applied - n.lastSnapshot < (force ? 1 : SNAPSHOT_EVERY_ENTRIES)) continue;
      n.storage.createSnapshot(logIndex(n.applied), n.confState, new Uint8Array(0));
      n.lastSnapshot = n.applied;
      const to = n.applied - KEEP_ENTRIES;
      if (to >= n.storage.firstIndex()) n.storage.compact(logIndex(to));
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsedMiB(): number {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

function payload(i: number): Uint8Array {
  const p = new Uint8Array(PAYLOAD_BYTES);
  p[0] = i & 0xff;
  p[1] = (i >>> 8) & 0xff;
  return p;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface PhaseResult {
  name: string;
  proposals: number;
  seconds: number;
  perSecond: number;
  cpuSeconds: number;
  p50Us: number;
  p99Us: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
}

/**
 * runPhase proposes batches of `batch` entries for `seconds`, each batch run
 * until the leader applied its last entry. Latency is per batch (per
 * proposal when batch is 1).
 */
function runPhase(
  c: Loopback,
  name: string,
  batch: number,
  seconds: number,
  measure: boolean,
): PhaseResult {
  c.compact(true);
  const heapBeforeMiB = measure ? heapUsedMiB() : 0;
  const latencies: number[] = [];
  const leader = c.leader();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let proposals = 0;
  let now = start;
  while (now < end) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) {
      const err = leader.raw.propose(payload(proposals + i));
      if (err) throw err;
    }
    const last = leader.raw.raft.raftLog.lastIndex();
    c.runUntil(() => leader.applied >= last);
    now = performance.now();
    latencies.push((now - t0) * 1000);
    proposals += batch;
    c.compact();
  }
  const elapsed = (now - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(latencies).sort();
  return {
    name,
    proposals,
    seconds: elapsed,
    perSecond: proposals / elapsed,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    heapBeforeMiB,
    heapAfterMiB: measure ? (c.compact(true), heapUsedMiB()) : 0,
  };
}

function main(): void {
  const loadStart = loadavg()[0]!.toFixed(2);
  const c = new Loopback(['1', '2', '3'], 42);
  const first = c.nodes[0]!;
  first.raw.campaign();
  c.runUntil(
    () =>
      first.raw.raft.state === 'leader' &&
      c.nodes.every((n) => n.applied >= first.raw.raft.raftLog.committed),
  );

  const phases: Array<[string, number]> = [
    ['serial (1 per round)', 1],
    ['batch 64', 64],
    ['batch 256', 256],
  ];
  for (const [name, batch] of phases)
    runPhase(c, name, batch, WARMUP_SECONDS / phases.length, false);

  const results = phases.map(([name, batch]) => runPhase(c, name, batch, PHASE_SECONDS, true));

  // Let followers catch up, then check that everyone applied the same proposals.
  const leader = c.leader();
  for (let i = 0; i < 3; i++) {
    for (const n of c.nodes) n.raw.tick();
    c.runUntil(() => true);
  }
  const target = leader.applied;
  c.runUntil(() => c.nodes.every((n) => n.applied >= target));

  const fmt = (x: number, d = 0): string =>
    x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const pad = (s: string, w: number): string => s.padStart(w);
  console.log(
    `tabd raft core benchmark: 3 voters, in-process zero-latency loopback, MemoryStorage, ${PAYLOAD_BYTES}-byte payloads`,
  );
  console.log(
    `node ${process.version}; ${PHASE_SECONDS} s per phase after ${WARMUP_SECONDS} s warm-up; ` +
      `snapshot+compact every ${fmt(SNAPSHOT_EVERY_ENTRIES)} entries (keep ${fmt(KEEP_ENTRIES)}); ` +
      `tick every ${TICK_MS} ms; gc ${gc ? 'exposed (heap after full GC)' : 'NOT exposed: run with node --expose-gc --import tsx for heap figures'}`,
  );
  console.log(
    `load average at start/end: ${loadStart} / ${loadavg()[0]!.toFixed(2)} (1 min; the machine has other work)`,
  );
  console.log('');
  const head = [
    'phase'.padEnd(22),
    pad('proposals', 10),
    pad('wall s', 7),
    pad('commits/s', 10),
    pad('cpu s', 6),
  ];
  head.push(
    pad('commits/cpu-s', 14),
    pad('p50 µs', 9),
    pad('p99 µs', 10),
    pad('heap MiB', 9),
    pad('Δheap MiB', 10),
  );
  console.log(head.join(' '));
  for (const r of results) {
    const dHeap = r.heapAfterMiB - r.heapBeforeMiB;
    console.log(
      [
        r.name.padEnd(22),
        pad(fmt(r.proposals), 10),
        pad(fmt(r.seconds, 2), 7),
        pad(fmt(r.perSecond), 10),
        pad(fmt(r.cpuSeconds, 2), 6),
        pad(fmt(r.proposals / r.cpuSeconds), 14),
        pad(fmt(r.p50Us, 1), 9),
        pad(fmt(r.p99Us, 1), 10),
        pad(gc ? fmt(r.heapAfterMiB, 1) : 'n/a', 9),
        pad(gc ? (dHeap >= 0 ? '+' : '') + fmt(dHeap, 2) : 'n/a', 10),
      ].join(' '),
    );
  }
  console.log('');
  console.log(
    'latency: serial = propose → applied on the leader, per proposal; batch N = per batch of N.',
  );
  for (const n of c.nodes) {
    console.log(
      `node ${n.id}: applied ${fmt(n.appliedProposals)} proposals, last index ${fmt(n.applied)}, ` +
        `stored log [${fmt(n.storage.firstIndex())}, ${fmt(n.storage.lastIndex())}]`,
    );
  }
  console.log(`messages delivered: ${fmt(c.messagesDelivered)}`);
  const counts = new Set(c.nodes.map((n) => n.appliedProposals));
  if (counts.size !== 1)
    throw new Error(`nodes applied different numbers of proposals: ${[...counts].join(', ')}`);
}

main();
