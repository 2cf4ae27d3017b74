// The deterministic simulator: N real RawNodes (Raft + MemoryStorage) in a
// world driven by one SeededRng. Time is discrete (steps); everything that
// happens is an event in one queue ordered by (time, insertion order), so a
// seed reproduces a run exactly.
//
// A run has three phases:
// 1. faults (until healAt): lossy, duplicating, reordering network,
//    partitions, crashes (including in the middle of handling a Ready),
//    clients, membership changes and snapshots;
// 2. liveness: the network heals, crashed members restart, clients stop;
//    within 20 election timeouts a leader must commit a probe proposal (the
//    deadline follows replication while it visibly progresses);
// 3. converge: every live member must apply the probe and reach the same
//    applied state, holding every entry any node ever applied.
// The checkers (checker.ts) run throughout.
import {
  EntryType,
  MessageType,
  RawNode,
  logIndex,
  nodeId,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Snapshot,
} from '../../src/raft/index.js';
import type { ClientApi, SimApp, Workload } from './app.js';
import { SafetyChecker, ViolationKind, type Violation } from './checker.js';
import { EventQueue } from './event-queue.js';
import {
  describeFault,
  describeProfile,
  makeProfile,
  makeSchedule,
  type FaultEvent,
  type RunProfile,
} from './faults.js';
import { FaultInjector } from './fault-injector.js';
import { listApp } from './list-app.js';
import { LivenessMonitor, type LivenessHost } from './liveness.js';
import { chooseMembershipAction, confMembers, type RemovalPolicy } from './membership.js';
import { createRaft, type MutantName } from './mutants.js';
import { Network } from './network.js';
import { NodeStatus, SimNode } from './sim-node.js';
import { SimRng } from './sim-rng.js';
import { Trace } from './trace.js';

/** SimOptions configures one run; everything not given is drawn from the seed. */
export interface SimOptions {
  readonly seed: number;
  /** nodes: founding voters (3 or 5); default: drawn from the seed. */
  readonly nodes?: number | undefined;
  readonly membership?: boolean | undefined;
  /**
   * knownHazards: with membership, also explore what is known to lose
   * liveness (README): a leader removing itself, one- and two-voter
   * configurations shrinking (membership.ts RemovalPolicy), and membership
   * changes with neither PreVote nor CheckQuorum. Off by default.
   */
  readonly knownHazards?: boolean | undefined;
  readonly snapshots?: boolean | undefined;
  readonly mutant?: MutantName | undefined;
  readonly preVote?: boolean | undefined;
  readonly checkQuorum?: boolean | undefined;
  /** faultSteps: length of the fault phase (default: drawn, 1500..3000 steps). */
  readonly faultSteps?: number | undefined;
  /** profile: overrides of the drawn profile (experiments and focused tests). */
  readonly profile?: Partial<RunProfile> | undefined;
  /** app: state machine and workload (default: the applied-list app). */
  readonly app?: SimApp | undefined;
  /** keepTrace: keep every trace line in the result (for --verbose). */
  readonly keepTrace?: boolean | undefined;
  /** stopOnViolation: end the run at the first violation (default true). */
  readonly stopOnViolation?: boolean | undefined;
}

export type SimStats = Record<string, number>;

export interface SimResult {
  readonly seed: number;
  readonly profile: RunProfile;
  /** schedule: the profile and the scheduled faults, one line each. */
  readonly schedule: readonly string[];
  readonly violations: readonly Violation[];
  readonly stats: SimStats;
  /** traceHash: a hash of every event; equal for two runs of one seed and options. */
  readonly traceHash: string;
  /** summary: the notable events (leaders, crashes, partitions, membership, heal, outcome). */
  readonly summary: readonly string[];
  readonly trace?: readonly string[];
}

/** Phase: faults until the heal, then the liveness checks (liveness.ts), then done. */
type Phase = 'faults' | 'healed' | 'done';

type SimEvent =
  | { readonly k: 'tick'; readonly node: SimNode; readonly inc: number }
  | { readonly k: 'deliver'; readonly m: Message; readonly fromInc: number }
  | { readonly k: 'persist'; readonly node: SimNode; readonly inc: number; readonly seq: number }
  | { readonly k: 'crash'; readonly node: SimNode; readonly inc: number; readonly why: string }
  | { readonly k: 'restart'; readonly node: SimNode; readonly inc: number }
  | { readonly k: 'fault'; readonly f: FaultEvent }
  | { readonly k: 'unpartition'; readonly id: number }
  | { readonly k: 'client' }
  | { readonly k: 'membership' }
  | { readonly k: 'heal' }
  | { readonly k: 'liveness' }
  | { readonly k: 'check-logs' };

/** Messages a leader may send before its own write completes (thesis §10.2.1). */
const earlyTypes: ReadonlySet<string> = new Set([
  MessageType.MsgApp,
  MessageType.MsgHeartbeat,
  MessageType.MsgSnap,
]);

/** runSimulation runs one seeded simulation and returns its violations and statistics. */
export function runSimulation(options: SimOptions): SimResult {
  return new World(options).run();
}

class World {
  private readonly rng: SimRng;
  private readonly profile: RunProfile;
  private readonly schedule: FaultEvent[];
  private readonly net: Network;
  private readonly checker = new SafetyChecker();
  private readonly trace: Trace;
  private readonly app: SimApp;
  private readonly workload: Workload;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly summary: string[] = [];
  private readonly stats: SimStats = {};
  private now = 0;
  private phase: Phase = 'faults';
  private nextNodeNumber = 1;
  /** latestConf: the configuration of the highest index any node applied (entry or snapshot). */
  private latestConf: { index: number; cs: ConfState } = {
    index: 0,
    cs: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  };
  /** reads: pending ReadIndex requests, with the highest commit index observed when issued. */
  private readonly reads = new Map<
    string,
    { node: NodeId; minIndex: number; by: NodeId | undefined; at: number }
  >();
  private readonly liveness: LivenessMonitor;
  private readonly faults: FaultInjector;

  constructor(private readonly opts: SimOptions) {
    this.rng = new SimRng(opts.seed);
    this.profile = {
      ...makeProfile(this.rng, {
        nodes: opts.nodes,
        snapshots: opts.snapshots ?? false,
        membership: opts.membership ?? false,
        knownHazards: opts.knownHazards ?? false,
        faultSteps: opts.faultSteps,
        preVote: opts.preVote,
        checkQuorum: opts.checkQuorum,
      }),
      ...opts.profile,
    };
    this.schedule = makeSchedule(this.rng, this.profile);
    this.net = new Network(this.rng, this.profile.net);
    this.trace = new Trace(opts.keepTrace ?? false);
    this.app = opts.app ?? listApp;
    this.workload = this.app.createWorkload(this.rng);
    this.liveness = new LivenessMonitor(this.livenessHost());
    this.faults = new FaultInjector({
      now: () => this.now,
      rng: this.rng,
      profile: this.profile,
      net: this.net,
      leaderNode: () => this.leaderNode(),
      upNodes: () => this.upNodes(),
      activeNodes: () => [...this.nodes.values()].filter((n) => n.status !== NodeStatus.Stopped),
      crash: (n, why, downSteps) => this.crash(n, why, downSteps),
      note: (line) => this.note(line),
      count: (k) => this.count(k),
      endPartitionAt: (t, id) => this.queue.push(t, { k: 'unpartition', id }),
    });
  }

  run(): SimResult {
    try {
      this.start();
      this.loop();
    } catch (err) {
      const e = err as Error;
      const where = (e.stack ?? '')
        .split('\n')
        .slice(1, 4)
        .map((s) => s.trim())
        .join(' < ');
      this.checker.violate(ViolationKind.Exception, this.now, `${e.name}: ${e.message} (${where})`);
      this.note(`exception: ${e.message}`);
    }
    for (const v of this.checker.violations) this.note(`VIOLATION ${v.kind}: ${v.message}`);
    const wl = this.workload.stats();
    for (const [k, v] of Object.entries(wl)) this.stats[k] = v;
    this.stats['endTime'] = this.now;
    this.stats['maxTerm'] = Math.max(0, ...this.checker.leaders.keys());
    this.stats['leaders'] = this.checker.leaders.size;
    this.stats['maxApplied'] = this.checker.maxApplied;
    return {
      seed: this.opts.seed,
      profile: this.profile,
      schedule: [...describeProfile(this.profile), ...this.schedule.map(describeFault)],
      violations: this.checker.violations,
      stats: this.stats,
      traceHash: this.trace.hash(),
      summary: this.summary,
      ...(this.opts.keepTrace ? { trace: this.trace.lines } : {}),
    };
  }

  // ------------------------------------------------------------------ set-up and loop

  private start(): void {
    const ids: NodeId[] = [];
    for (let i = 0; i < this.profile.nodes; i++) ids.push(this.freshId());
    for (const id of ids) {
      const n = new SimNode(id, this.app.createStateMachine(id), true);
      this.nodes.set(id, n);
      n.raw = this.newRawNode(n, 0);
      n.raw.bootstrap(ids);
      // The founders' first write (the bootstrap entries) completes before the world starts.
      while (n.raw.hasReady()) {
        const rd = n.raw.ready();
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        for (const e of rd.committedEntries) this.applyEntry(n, e);
        n.raw.advance(rd);
      }
      this.scheduleTick(n, this.rng.between(1, this.profile.tickSteps));
    }
    this.note(`founders ${ids.join(',')}`);
    for (const f of this.schedule) this.queue.push(f.at, { k: 'fault', f });
    this.queue.push(this.profile.healAt, { k: 'heal' });
    this.queue.push(this.rng.between(1, this.profile.clientGapSteps), { k: 'client' });
    if (this.profile.membershipGapSteps > 0) {
      this.queue.push(this.rng.between(1, this.profile.membershipGapSteps), { k: 'membership' });
    }
    this.queue.push(200, { k: 'check-logs' });
  }

  private loop(): void {
    const stop = this.opts.stopOnViolation ?? true;
    while (this.phase !== 'done') {
      const ev = this.queue.pop();
      if (!ev) throw new Error('event queue ran dry');
      this.now = ev.time;
      this.handle(ev.value);
      if (stop && this.checker.violations.length > 0) break;
    }
  }

  private handle(ev: SimEvent): void {
    switch (ev.k) {
      case 'tick': {
        const n = ev.node;
        if (!n.up || n.incarnation !== ev.inc) return;
        n.rawNode.tick();
        this.afterCall(n);
        const j = this.profile.tickJitterSteps;
        this.scheduleTick(n, this.profile.tickSteps + this.rng.between(-j, j));
        return;
      }
      case 'deliver':
        this.deliver(ev.m, ev.fromInc);
        return;
      case 'persist': {
        const n = ev.node;
        if (!n.up || n.incarnation !== ev.inc || n.inflight?.seq !== ev.seq) return;
        if (this.completePersist(n)) this.afterCall(n);
        return;
      }
      case 'crash':
        if (ev.node.up && ev.node.incarnation === ev.inc && this.phase === 'faults') {
          this.crash(ev.node, ev.why, this.rng.between(5, 300));
        }
        return;
      case 'restart':
        if (ev.node.status === NodeStatus.Down && ev.node.incarnation === ev.inc)
          this.restart(ev.node);
        return;
      case 'fault':
        if (this.phase === 'faults') this.faults.apply(ev.f);
        return;
      case 'unpartition':
        this.faults.onPartitionEnd(ev.id);
        return;
      case 'client':
        // Clients stop at the heal: the liveness probe must not wait behind a growing backlog.
        if (this.phase !== 'faults') return;
        this.workload.act(this.clientApi());
        this.queue.push(this.now + this.rng.between(1, this.profile.clientGapSteps), {
          k: 'client',
        });
        return;
      case 'membership':
        if (this.phase === 'done' || this.liveness.stage === 'converging') return;
        this.membershipStep();
        this.queue.push(this.now + this.rng.between(1, this.profile.membershipGapSteps), {
          k: 'membership',
        });
        return;
      case 'heal':
        this.heal();
        return;
      case 'liveness':
        if (this.liveness.step())
          this.queue.push(this.now + this.profile.tickSteps, { k: 'liveness' });
        else this.phase = 'done';
        return;
      case 'check-logs':
        if (this.phase === 'done') return;
        this.checkLogs();
        this.queue.push(this.now + 250, { k: 'check-logs' });
        return;
    }
  }

  private count(k: string, by = 1): void {
    this.stats[k] = (this.stats[k] ?? 0) + by;
  }

  /** note records a notable event in the summary and the trace. */
  private note(s: string): void {
    this.summary.push(`t=${this.now} ${s}`);
    this.trace.event(this.now, 'note', s);
  }

  private freshId(): NodeId {
    return nodeId(String(this.nextNodeNumber++));
  }

  private newRawNode(n: SimNode, applied: number): RawNode {
    const p = this.profile;
    const config: RaftConfig = {
      id: n.id,
      storage: n.storage,
      electionTicks: p.electionTicks,
      heartbeatTicks: p.heartbeatTicks,
      applied: logIndex(applied),
      rng: this.rng.fork(),
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      maxSizePerMsgBytes: p.maxSizePerMsgBytes,
      maxInflightMsgs: p.maxInflightMsgs,
      maxUncommittedEntriesSizeBytes: p.maxUncommittedEntriesSizeBytes,
    };
    return new RawNode(config, createRaft(this.opts.mutant, config));
  }

  private scheduleTick(n: SimNode, after: number): void {
    this.queue.push(this.now + Math.max(1, after), { k: 'tick', node: n, inc: n.incarnation });
  }

  private upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** leaderNode is a running node that believes it leads, with the highest term. */
  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const r = n.raw?.raft;
      if (!r || r.state !== 'leader') continue;
      if (!best || r.term > best.rawNode.raft.term) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------------ the Ready loop

  /**
   * afterCall runs after anything was fed to a node: it notices a new
   * leader (election safety, leader completeness) and handles its Readys.
   */
  private afterCall(n: SimNode): void {
    if (!n.up) return;
    this.noticeLeader(n);
    this.processReady(n);
  }

  private noticeLeader(n: SimNode): void {
    const r = n.rawNode.raft;
    if (r.state !== 'leader' || n.ledTerm === r.term) return;
    n.ledTerm = r.term;
    this.count('elections');
    this.note(`leader ${n.id} term ${r.term} (last index ${r.raftLog.lastIndex()})`);
    this.checker.onLeader(this.now, n.id, r.term, n.logView());
    if (this.phase === 'faults') this.faults.onNewLeader(n, r.term);
    if (this.phase === 'faults' && this.rng.chance(this.profile.crashNewLeaderRate)) {
      // Figure 8 histories: a leader that dies soon after its election, having
      // replicated only part of its log.
      const after = this.rng.between(0, 3 * this.profile.tickSteps);
      this.queue.push(this.now + after, {
        k: 'crash',
        node: n,
        inc: n.incarnation,
        why: 'new leader',
      });
    }
  }

  /** processReady takes Readys until one is waiting on its write (or none is left). */
  private processReady(n: SimNode): void {
    while (n.up && !n.inflight) {
      const raw = n.rawNode;
      if (!raw.hasReady()) return;
      const rd = raw.ready();
      const seq = ++n.readySeq;
      this.count('readys');
      const first = rd.entries[0];
      if (first) {
        const prevTerm = raw.raft.raftLog.termOrUndefined(logIndex(first.index - 1));
        this.checker.onLogEntries(this.now, n.id, rd.entries, prevTerm);
      }
      for (const rs of rd.readStates) this.onReadState(n, rs);
      // A leader may send its appends while its own write is in flight (thesis
      // §10.2.1); everything else waits for the write. Not when the Ready also
      // changes term or vote: those must be durable before anything leaves.
      const durable = n.storage.hardState;
      const hs = rd.hardState;
      const isLeader = raw.raft.state === 'leader';
      const canEarly =
        this.profile.leaderParallelSend &&
        isLeader &&
        n.armedCrash === undefined &&
        (!hs || (hs.term === durable.term && hs.vote === durable.vote));
      // Vote requests may leave before the candidate's own term and vote are durable (as
      // RaftNode and etcd-io/raft's asynchronous writes do): its own vote counts only once this
      // write lands, since it acts as leader only in a later Ready.
      const voteEarly = this.profile.leaderParallelSend && n.armedCrash === undefined;
      const early: Message[] = [];
      const late: Message[] = [];
      for (const m of rd.messages) {
        const isVoteRequest = m.type === 'MsgVote' || m.type === 'MsgPreVote';
        ((canEarly && earlyTypes.has(m.type)) || (voteEarly && isVoteRequest) ? early : late).push(m);
      }
      n.inflight = { rd, late, seq };
      this.send(n, early);
      const d = this.rng.between(0, this.profile.persistDelaySteps);
      if (d === 0) {
        // The node may have crashed in between, or been stopped (removed).
        if (!this.completePersist(n) || !n.up) return;
        this.noticeLeader(n);
        continue;
      }
      this.queue.push(this.now + d, { k: 'persist', node: n, inc: n.incarnation, seq });
      if (
        this.phase === 'faults' &&
        isLeader &&
        rd.entries.length > 0 &&
        d > 1 &&
        this.rng.chance(this.profile.crashInPersistRate)
      ) {
        this.queue.push(this.now + this.rng.between(0, d - 1), {
          k: 'crash',
          node: n,
          inc: n.incarnation,
          why: `leader writing entries ${first!.index}..${rd.entries[rd.entries.length - 1]!.index}`,
        });
      }
      return;
    }
  }

  /**
   * completePersist finishes the in-flight Ready: the write lands in storage
   * (atomically), then the held messages go out, then the snapshot and the
   * committed entries are applied, then advance(). Returns false if the node
   * crashed in between.
   */
  private completePersist(n: SimNode): boolean {
    const { rd, late } = n.inflight!;
    const raw = n.rawNode;
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    n.inflight!.written = true;
    const commitBefore = n.storage.hardState.commit;
    if (rd.hardState) {
      n.storage.setHardState(rd.hardState);
      const c = rd.hardState.commit;
      this.checker.onCommitKnown(
        this.now,
        n.id,
        c,
        raw.raft.raftLog.termOrUndefined(c),
        rd.hardState.term,
      );
    }
    this.trace.event(
      this.now,
      'persist',
      n.id,
      rd.entries.length,
      rd.hardState?.term ?? -1,
      rd.hardState?.commit ?? -1,
    );
    if (this.phase === 'faults') {
      const committed =
        rd.hardState !== undefined &&
        rd.hardState.commit > commitBefore &&
        raw.raft.state === 'leader';
      const armed = n.armedCrash;
      if (armed && (armed.when === 'after-commit' ? committed : rd.entries.length > 0)) {
        this.crash(n, armed.why, armed.downSteps);
        return false;
      }
      if (committed && this.rng.chance(this.profile.crashAfterCommitRate)) {
        this.crash(
          n,
          `leader, right after durably committing ${rd.hardState!.commit}`,
          this.rng.between(5, 300),
        );
        return false;
      }
      if (this.rng.chance(this.profile.crashAfterPersistRate)) {
        this.crash(n, 'after a write, before sending its messages', this.rng.between(5, 300));
        return false;
      }
    }
    this.send(n, late);
    if (rd.snapshot) this.applySnapshot(n, rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(n, e);
    if (rd.committedEntries.length > 0) {
      this.checker.onStateAt(
        this.now,
        n.id,
        n.applied,
        n.sm.fingerprint(),
        n.sm.describe(),
        'applied entries',
      );
    }
    raw.advance(rd);
    n.inflight = undefined;
    this.maybeSnapshot(n);
    this.stopRemovedNodes();
    return true;
  }

  private applySnapshot(n: SimNode, s: Snapshot): void {
    const { index, term, confState } = s.metadata;
    n.sm.restore(s.data);
    n.applied = index;
    n.confState = confState;
    this.count('snapshotsInstalled');
    this.trace.event(this.now, 'install-snapshot', n.id, index, term);
    this.checker.onCommitKnown(this.now, n.id, index, term, n.rawNode.raft.term);
    this.checker.onStateAt(
      this.now,
      n.id,
      index,
      n.sm.fingerprint(),
      n.sm.describe(),
      `installed snapshot ${index}`,
    );
    this.onConfApplied(index, confState);
  }

  private applyEntry(n: SimNode, e: Entry): void {
    const raw = n.rawNode;
    this.checker.onApply(this.now, n.id, e, raw.raft.term);
    if (e.type === EntryType.ConfChange) {
      const wasLeader = raw.raft.state === 'leader';
      const before = n.confState;
      const cs = raw.applyConfChangeEntry(e);
      n.confState = cs;
      this.onConfApplied(e.index, cs);
      if (wasLeader && before && this.phase === 'faults')
        this.faults.afterConfChange(n, before, cs);
    } else if (e.data.length > 0) {
      n.sm.apply(e.index, e.data);
      this.workload.onApplied?.(n.id, e.index, e.data, this.now);
      this.liveness.onApplied(e.index, e.data);
    }
    n.applied = e.index;
  }

  private onReadState(n: SimNode, rs: ReadState): void {
    const r = this.reads.get(rs.requestCtx);
    if (!r) return;
    this.count('readsAnswered');
    if (rs.index < r.minIndex) {
      this.checker.violate(
        ViolationKind.ReadIndex,
        this.now,
        `read ${rs.requestCtx} issued at ${r.node} (t=${r.at}) got read index ${rs.index}, but commit index ${r.minIndex} was already observed (by ${r.by ?? '?'})`,
      );
    }
    this.workload.onReadState?.(n.id, rs.requestCtx, rs.index, this.now);
  }

  /**
   * maybeSnapshot: with --snapshots, snapshot at the applied index every
   * snapshotEvery entries and compact the log a bit behind it. Also snapshot
   * as soon as the applied configuration has a member the last snapshot
   * lacks: once the log before it is compacted, a new member can only catch
   * up from a snapshot that names it (a snapshot without the recipient is
   * refused by the core, as in etcd, whose server sends a fresh snapshot).
   */
  private maybeSnapshot(n: SimNode): void {
    const every = this.profile.snapshotEvery;
    if (every === 0 || !n.confState) return;
    const s = n.storage;
    const snap = s.snapshot().metadata;
    if (n.applied <= snap.index || n.applied > s.lastIndex()) return;
    const known = confMembers(snap.confState);
    const newMember = [...confMembers(n.confState)].some((id) => !known.has(id));
    if (n.applied - snap.index < every && !newMember) return;
    s.createSnapshot(logIndex(n.applied), n.confState, n.sm.snapshot());
    n.snapshotsCreated++;
    this.count('snapshotsCreated');
    const compactTo = n.applied - this.profile.snapshotKeep;
    if (compactTo >= s.firstIndex()) s.compact(logIndex(compactTo));
    this.trace.event(this.now, 'snapshot', n.id, n.applied, compactTo);
  }

  // ------------------------------------------------------------------ network

  private send(n: SimNode, msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.count('msgsSent');
      if (m.type === MessageType.MsgSnap) this.count('snapshotsSent');
      const delays = this.net.plan();
      this.trace.event(
        this.now,
        'send',
        m.type,
        m.from,
        m.to,
        m.term,
        m.index,
        m.logTerm,
        m.commit,
        m.entries.length,
        m.reject,
        delays.length,
      );
      if (delays.length === 0) {
        this.count('msgsDropped');
        if (m.type === MessageType.MsgSnap) this.reportSnapshot(n.id, n.incarnation, m.to, false);
        continue;
      }
      if (delays.length > 1) this.count('msgsDuplicated');
      for (const d of delays)
        this.queue.push(this.now + d, { k: 'deliver', m, fromInc: n.incarnation });
    }
  }

  private deliver(m: Message, fromInc: number): void {
    const to = this.nodes.get(m.to);
    if (!to || !to.up || this.net.blocked(m.from, m.to)) {
      this.count('msgsLost');
      if (m.type === MessageType.MsgSnap) {
        this.reportSnapshot(m.from, fromInc, m.to, false);
      } else if (m.type === MessageType.MsgApp && this.rng.chance(0.5)) {
        // The transport noticed the peer is unreachable.
        const from = this.nodes.get(m.from);
        if (from?.up && from.incarnation === fromInc) {
          from.rawNode.reportUnreachable(m.to);
          this.afterCall(from);
        }
      }
      return;
    }
    this.trace.event(this.now, 'deliver', m.type, m.from, m.to, m.term, m.index);
    to.rawNode.step(m);
    this.afterCall(to);
    if (m.type === MessageType.MsgSnap) this.reportSnapshot(m.from, fromInc, m.to, true);
  }

  /** reportSnapshot tells the sender (if it is the same incarnation) how a snapshot send ended. */
  private reportSnapshot(from: NodeId, fromInc: number, to: NodeId, ok: boolean): void {
    const n = this.nodes.get(from);
    if (!n?.up || n.incarnation !== fromInc) return;
    this.count(ok ? 'snapshotReportsOk' : 'snapshotReportsFailed');
    n.rawNode.reportSnapshot(to, ok);
    this.afterCall(n);
  }

  // ------------------------------------------------------------------ faults

  /** crash loses everything not durable: the RawNode, its unstable log, the Ready being written, the app state. */
  private crash(n: SimNode, why: string, downSteps: number): void {
    if (!n.up) return;
    const inflight =
      n.inflight && !n.inflight.written
        ? ` (write of Ready ${n.inflight.seq} lost: ${n.inflight.rd.entries.length} entries)`
        : '';
    n.status = NodeStatus.Down;
    n.raw = undefined;
    n.inflight = undefined;
    n.incarnation++;
    n.sm = this.app.createStateMachine(n.id);
    n.applied = 0;
    n.confState = undefined;
    n.ledTerm = 0;
    n.armedCrash = undefined;
    this.count('crashes');
    this.note(`crash ${n.id}: ${why}${inflight}, down ${downSteps} steps`);
    this.queue.push(this.now + downSteps, { k: 'restart', node: n, inc: n.incarnation });
  }

  /** restart rebuilds the node from its storage: applied = the snapshot index, state = the snapshot data. */
  private restart(n: SimNode): void {
    if (n.removedAt !== undefined && this.removalKnown(n.removedAt)) {
      this.stop(n, `removed at ${n.removedAt} while down`);
      return;
    }
    const snap = n.storage.snapshot();
    const idx = snap.metadata.index;
    n.incarnation++;
    n.status = NodeStatus.Up;
    n.sm = this.app.createStateMachine(n.id);
    n.applied = idx;
    n.confState = idx > 0 ? snap.metadata.confState : undefined;
    if (idx > 0) {
      n.sm.restore(snap.data);
      this.checker.onStateAt(
        this.now,
        n.id,
        idx,
        n.sm.fingerprint(),
        n.sm.describe(),
        `restarted from snapshot ${idx}`,
      );
    }
    n.raw = this.newRawNode(n, idx);
    this.count('restarts');
    const hs = n.storage.hardState;
    this.note(
      `restart ${n.id} (term ${hs.term}, vote ${hs.vote || '-'}, commit ${hs.commit}, log ${n.storage.firstIndex()}..${n.storage.lastIndex()})`,
    );
    this.scheduleTick(n, this.rng.between(1, this.profile.tickSteps));
    this.afterCall(n);
  }

  private stop(n: SimNode, why: string): void {
    if (n.status === NodeStatus.Stopped) return;
    n.status = NodeStatus.Stopped;
    n.raw = undefined;
    n.inflight = undefined;
    n.incarnation++;
    this.note(`stop ${n.id}: ${why}`);
  }

  private heal(): void {
    this.phase = 'healed';
    this.net.heal();
    this.note('heal: faults stop, network heals, crashed members restart');
    for (const n of this.nodes.values()) if (n.status === NodeStatus.Down) this.restart(n);
    this.liveness.heal();
    this.queue.push(this.now + 1, { k: 'liveness' });
  }

  // ------------------------------------------------------------------ membership

  private membershipStep(): void {
    const lead = this.leaderNode();
    if (!lead) return;
    const r = lead.rawNode.raft;
    if (r.pendingConfIndex > r.raftLog.applied) return;
    const act = chooseMembershipAction(
      this.rng,
      r.trk.confState(),
      lead.id,
      () => this.freshId(),
      this.removalPolicy(),
    );
    if (!act) return;
    // After the heal only an explicit joint configuration is finished; nothing new starts.
    if (this.phase !== 'faults' && (act.kind === 'transfer' || act.cc.changes.length > 0)) return;
    if (act.kind === 'transfer') {
      const err = lead.rawNode.transferLeader(act.to);
      this.note(`${act.what}${err ? `: refused (${err.message})` : ''}`);
      this.afterCall(lead);
      return;
    }
    for (const id of act.fresh) {
      const n = new SimNode(id, this.app.createStateMachine(id), false);
      this.nodes.set(id, n);
      n.raw = this.newRawNode(n, 0);
      this.scheduleTick(n, this.rng.between(1, this.profile.tickSteps));
    }
    const err = lead.rawNode.proposeConfChange(act.cc);
    this.count(err ? 'confChangesRefused' : 'confChangesProposed');
    this.note(`propose at ${lead.id}: ${act.what}${err ? `: refused (${err.message})` : ''}`);
    if (err) {
      for (const id of act.fresh) this.nodes.delete(id);
    }
    this.afterCall(lead);
  }

  /**
   * removalPolicy: the removals an application can afford (membership.ts).
   * Without early sends, a follower never holds entries its leader lost,
   * so one- and two-voter configurations may shrink too. --known-hazards
   * lifts every restriction.
   */
  private removalPolicy(): RemovalPolicy {
    if (this.opts.knownHazards) return { leaderMayRemoveItself: true, minVoters: 1 };
    const p = this.profile;
    return {
      leaderMayRemoveItself: p.preVote && p.checkQuorum,
      minVoters: p.leaderParallelSend ? 3 : 1,
    };
  }

  private onConfApplied(index: number, cs: ConfState): void {
    if (index <= this.latestConf.index) return;
    const before = confMembers(this.latestConf.cs);
    this.latestConf = { index, cs };
    const members = confMembers(cs);
    if (index > this.profile.nodes) this.note(`configuration at ${index}: ${describeConf(cs)}`);
    for (const n of this.nodes.values()) {
      if (members.has(n.id)) {
        n.everMember = true;
      } else if (n.everMember && n.removedAt === undefined && before.has(n.id)) {
        n.removedAt = index;
        this.note(`${n.id} removed at ${index}`);
      }
    }
  }

  /** liveMembers: running nodes of the latest configuration. */
  private liveMembers(): SimNode[] {
    const members = confMembers(this.latestConf.cs);
    return [...this.nodes.values()].filter((n) => members.has(n.id) && n.up);
  }

  /**
   * stopRemovedNodes stops a removed node once every member of the latest
   * configuration knows, durably, that its removal committed. Stopping it
   * earlier can wedge the cluster: a member that has the removal entry but not
   * its commit still counts the removed node's vote (say the survivor of
   * {A, B} minus A, if A led and stopped before B heard the commit).
   */
  private stopRemovedNodes(): void {
    let pending = false;
    for (const n of this.nodes.values()) if (n.removedAt !== undefined && n.up) pending = true;
    if (!pending) return;
    for (const n of this.nodes.values()) {
      if (n.removedAt === undefined || !n.up) continue;
      if (this.removalKnown(n.removedAt))
        this.stop(n, `every member durably knows its removal at ${n.removedAt} committed`);
    }
  }

  /** removalKnown: does every member of the latest configuration durably know index `at` is committed? */
  private removalKnown(at: number): boolean {
    for (const id of confMembers(this.latestConf.cs)) {
      const m = this.nodes.get(id);
      if (!m || m.storage.hardState.commit < at) return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ clients

  private clientApi(): ClientApi {
    return {
      now: this.now,
      rng: this.rng,
      upNodes: () => this.upNodes().map((n) => n.id),
      leader: () => this.leaderNode()?.id,
      propose: (id, data) => {
        const n = this.runningNode(id);
        const err = n.rawNode.propose(data);
        this.trace.event(this.now, 'propose', id, data.length, err ? err.message : 'ok');
        this.afterCall(n);
        return err;
      },
      readIndex: (id, ctx) => {
        const n = this.runningNode(id);
        this.reads.set(ctx, {
          node: id,
          minIndex: this.checker.maxObservedCommit,
          by: this.checker.maxObservedBy,
          at: this.now,
        });
        const err = n.rawNode.readIndex(ctx);
        this.trace.event(this.now, 'read-index', id, ctx, err ? err.message : 'ok');
        if (err) this.reads.delete(ctx);
        this.afterCall(n);
        return err;
      },
    };
  }

  private runningNode(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n?.up) throw new Error(`workload used node ${id}, which is not running`);
    return n;
  }

  // ------------------------------------------------------------------ liveness and convergence

  private livenessHost(): LivenessHost {
    return {
      now: () => this.now,
      profile: this.profile,
      checker: this.checker,
      stats: this.stats,
      app: this.app,
      leaderNode: () => this.leaderNode(),
      liveMembers: () => this.liveMembers(),
      upNodes: () => this.upNodes(),
      propose: (n, data) => n.rawNode.propose(data),
      settle: (n) => this.afterCall(n),
      note: (line) => this.note(line),
      describeState: () =>
        [...this.nodes.values()]
          .filter((n) => n.status !== NodeStatus.Stopped)
          .map((n) => {
            const r = n.raw?.raft;
            return `${n.id}:${r ? `${r.state}/t${r.term}/c${r.raftLog.committed}/a${n.applied}/l${r.raftLog.lastIndex()}` : n.status}`;
          })
          .join(' '),
      describeConfig: () => describeConf(this.latestConf.cs),
      checkLogs: () => this.checkLogs(),
      finishWorkload: () => this.workload.finish?.() ?? [],
    };
  }

  private checkLogs(): void {
    const views = [...this.nodes.values()].map((n) => n.logView());
    this.checker.checkLogs(this.now, views);
  }
}

function describeConf(cs: ConfState): string {
  let s = `voters=${cs.voters.join(',')}`;
  if (cs.votersOutgoing.length) s += ` outgoing=${cs.votersOutgoing.join(',')}`;
  if (cs.learners.length) s += ` learners=${cs.learners.join(',')}`;
  if (cs.learnersNext.length) s += ` learnersNext=${cs.learnersNext.join(',')}`;
  if (cs.autoLeave) s += ' autoLeave';
  return s;
}
