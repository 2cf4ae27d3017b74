// RaftNode is the one place that wires the Raft core to storage, transport
// and time. It runs the Ready loop in the order the core prescribes:
//
//   persist (one atomic write) → send → apply → advance
//
// with one exception etcd-io/raft allows: a leader sends its messages before
// its own write completes (thesis §10.2.1), because it counts itself toward
// a commit only in a later Ready, after this one is durable.
//
// Storage may be synchronous (memory: tests and the simulator stay
// deterministic and run without promises) or asynchronous (IndexedDB). While
// a write is in flight, messages and ticks are still stepped into the core;
// only the next Ready waits.
import {
  EntryType,
  MemoryStorage,
  MessageType,
  NONE,
  RaftError,
  RawNode,
  decodeConfChange,
  emptyConfState,
  logIndex,
  message,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type Message,
  type NodeId,
  type Raft,
  type RaftConfig,
  type Ready,
  type Rng,
  type Snapshot,
  type StateType,
} from '../raft/index.js';
import type { DurableStorage, LoadedState } from '../storage/durable-storage.js';
import type { Transport, TransportStats } from '../transport/transport.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { NoQuorumError, NodeError, ProposalRefusedError, StoppedError, TimeoutError } from './errors.js';

/**
 * Applier is the replicated state machine behind a RaftNode. It must be
 * deterministic: every peer applies the same entries in the same order and
 * must reach the same state.
 */
export interface Applier {
  /** apply applies one committed payload; the result goes to the proposer's callback. */
  apply(index: LogIndex, payload: Uint8Array): unknown;
  /** snapshot serializes the whole state as of the last applied entry. */
  snapshot(): Uint8Array;
  /** restore replaces the whole state with a snapshot's data (empty data = initial state). */
  restore(data: Uint8Array, index: LogIndex): void;
  /**
   * beginSnapshot, if present, encodes the state as of now in steps, between which apply may be
   * called; the result must equal snapshot() called now. With RaftNodeConfig.schedule, snapshots
   * are then encoded in slices instead of in one long task.
   */
  beginSnapshot?(): SnapshotJob;
}

/** SnapshotJob encodes a snapshot in steps of about `budget` items; step returns true when done. */
export interface SnapshotJob {
  step(budget: number): boolean;
  result(): Uint8Array;
}

export interface RaftNodeConfig {
  readonly id: NodeId;
  readonly durable: DurableStorage;
  readonly transport: Transport;
  readonly applier: Applier;
  readonly rng: Rng;
  /** raft: core settings (electionTicks, heartbeatTicks, limits...). */
  readonly raft?: Partial<Omit<RaftConfig, 'id' | 'storage' | 'rng' | 'applied'>>;
  /** bootstrap: founding voters, used only when storage is empty. Other peers start empty and join. */
  readonly bootstrap?: readonly NodeId[];
  /** requestTimeoutTicks: proposals and reads fail with TimeoutError / NoQuorumError after this long. */
  readonly requestTimeoutTicks?: number;
  /** snapshotEntries: take a snapshot after this many entries applied since the last one. */
  readonly snapshotEntries?: number;
  /** snapshotCatchUpEntries: entries kept before a snapshot's index for slow followers. */
  readonly snapshotCatchUpEntries?: number;
  /**
   * commitWriteTicks: a commit index learned without entries to write (the last batch's) is
   * written alone once this many ticks passed without a write carrying it (default 4).
   * Restarting, a peer applies up to the written commit index at once and the rest when its
   * leader tells it.
   */
  readonly commitWriteTicks?: number;
  /** testing: mutants for the simulator ('stale-read' answers reads without ReadIndex). */
  readonly mutant?: 'stale-read';
  /**
   * schedule runs fn in a later task (a tab: a MessageChannel message, which hidden tabs do not
   * throttle; the simulator: a later step). With it, and an Applier that has beginSnapshot, a
   * snapshot is encoded in slices of snapshotSliceItems between which the node goes on: a leader
   * encoding 100k keys in one task would go silent for longer than an election timeout.
   */
  readonly schedule?: (fn: () => void) => void;
  /** snapshotSliceItems: keys or versions encoded per slice (default 2,000). */
  readonly snapshotSliceItems?: number;
  /** raftFactory: build the core (the simulator injects mutants). */
  readonly raftFactory?: (config: RaftConfig) => Raft;
  /** onError: storage failure or broken invariant; the node has stopped. */
  readonly onError?: (err: unknown) => void;
  /** onRoleChange: called when this peer's role or known leader changes. */
  readonly onRoleChange?: (role: StateType, leader: NodeId, term: number) => void;
  /** onApplied: called after each batch of committed entries is applied. */
  readonly onApplied?: (applied: LogIndex) => void;
}

export const raftNodeDefaults = {
  requestTimeoutTicks: 100,
  snapshotEntries: 10_000,
  snapshotCatchUpEntries: 1_000,
  commitWriteTicks: 4,
} as const;

/** MemberStatus is one member as this peer sees it. */
export interface MemberStatus {
  readonly id: NodeId;
  readonly role: 'voter' | 'learner';
  /** healthy: heard from within an election timeout (always true for self). */
  readonly healthy: boolean;
  /** lastHeardTicks: ticks since a message from it arrived (0 for self). */
  readonly lastHeardTicks: number;
  /** match: its acknowledged log index, known on the leader only (-1 elsewhere). */
  readonly match: number;
  /** lag: entries it is behind the leader's last index, on the leader only (-1 elsewhere). */
  readonly lag: number;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: StateType;
  readonly term: number;
  readonly leader: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly config: ConfState;
  readonly members: readonly MemberStatus[];
  /** quorum: this peer is connected to a leader that has a quorum (or is that leader). */
  readonly quorum: boolean;
  readonly isLearner: boolean;
  readonly transport: TransportStats;
  readonly nowTick: number;
}

type Callback<T> = (err: Error | undefined, result?: T) => void;

interface PendingProposal {
  readonly cb: Callback<unknown>;
  readonly deadline: number;
  /** data is kept while the proposal waits for a leader, then released. */
  data?: Uint8Array;
  kind: 'normal' | 'conf';
  cc?: ConfChange;
}

interface PendingRead {
  readonly cb: Callback<void>;
  readonly deadline: number;
}

/**
 * isPending: a storage call returned a write still in flight. Any thenable counts, not only a
 * Promise: the simulator's storage completes its writes at simulated times, synchronously.
 */
function isPending(r: void | PromiseLike<void>): r is PromiseLike<void> {
  return typeof (r as PromiseLike<void> | undefined)?.then === 'function';
}

/** Pending is a write in flight as the Ready loop waits on it (never chained, so thenables do). */
interface Pending {
  then(ok: () => void, fail: (err: unknown) => void): unknown;
}

/** isVoteRequest: MsgVote or MsgPreVote, which may leave before anything is durable. */
function isVoteRequest(m: Message): boolean {
  return m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote;
}

function namesPeer(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.learners.includes(id) || cs.votersOutgoing.includes(id);
}

/** RaftNode runs one Raft peer. Construct with `RaftNode.open` (async storage) or `new RaftNode(cfg, loaded)`. */
export class RaftNode {
  readonly id: NodeId;
  readonly rawNode: RawNode;
  readonly memStorage = new MemoryStorage();
  private readonly cfg: RaftNodeConfig;
  private readonly requestTimeoutTicks: number;
  private readonly snapshotEntries: number;
  private readonly snapshotCatchUpEntries: number;
  private nowTick = 0;
  /**
   * seq numbers this incarnation's proposals (the envelope's seq, a conf change's context). It
   * starts in a random slot of 2^21 numbers, not at 0: entries an earlier incarnation of this
   * peer proposed can commit after a restart, and with a counter restarted from 0 their seq would
   * name (and answer) this incarnation's own pending proposals.
   */
  private seq: number;
  private readonly proposals = new Map<number, PendingProposal>();
  /**
   * batched: proposals made while a write was in flight. They go into the core together when it
   * completes, as one MsgProp, so the leader sends them to each follower in one MsgApp and
   * followers write them in one transaction (a follower forwards them in one message).
   */
  private batched: { seq: number; data: Uint8Array }[] = [];
  /** waitingForLeader: proposals refused for want of a leader, retried when one appears. */
  private waitingForLeader: number[] = [];
  private readsToRequest: PendingRead[] = [];
  private readonly readsAwaitingIndex = new Map<string, PendingRead[]>();
  private readsAwaitingApply: { index: LogIndex; reads: PendingRead[] }[] = [];
  private readCtxSeq = 0;
  /** lastReadRequestTick: when the latest read index request went to the core. */
  private lastReadRequestTick = 0;
  private persisting = false;
  private driving = false;
  private stopped: Error | undefined;
  private confState: ConfState = emptyConfState;
  private snapshotIndex: LogIndex = logIndex(0);
  /** appliedIndex: the last entry the Applier has (the core learns it at advance, later). */
  private appliedIndex: LogIndex = logIndex(0);
  private readonly lastHeard = new Map<NodeId, number>();
  private lastRole: StateType | undefined;
  private lastLead: NodeId = NONE;
  /** wasMember: this peer was in the configuration (a later removal stops it). */
  private wasMember = false;
  /** commitFlushScheduled: a flushCommit is scheduled (scheduleCommitFlush). */
  private commitFlushScheduled = false;
  /** lastCommitWriteTick: when a write last carried the hard state (see persist). */
  private lastCommitWriteTick = 0;
  /** commitWriteTicks: how long the written commit index may lag (RaftNodeConfig). */
  private readonly commitWriteTicks: number;
  /** removedAtTick: when this peer applied its own removal (it stops a little later). */
  private removedAtTick: number | undefined;
  /** snapJob: the snapshot being encoded in slices, and the followers waiting for it. */
  private snapJob: { enc: SnapshotJob; index: LogIndex; confState: ConfState; waiting: Set<NodeId> } | undefined;
  /** snapshotSentAt: when a MsgSnap went to each follower, to detect lost snapshots. */
  private readonly snapshotSentAt = new Map<NodeId, number>();
  /**
   * durableHardState is the hard state storage holds. A Ready whose hard state differs from it
   * only in the commit index is not waited for (see persist): the newer commit index goes with
   * the next write, or alone soon after (flushCommit).
   */
  private durableHardState: HardState;

  /** open loads durable state (possibly asynchronously) and starts the node. */
  static async open(cfg: RaftNodeConfig): Promise<RaftNode> {
    const loaded = await cfg.durable.load();
    return new RaftNode(cfg, loaded);
  }

  constructor(cfg: RaftNodeConfig, loaded: LoadedState) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.requestTimeoutTicks = cfg.requestTimeoutTicks ?? raftNodeDefaults.requestTimeoutTicks;
    this.snapshotEntries = cfg.snapshotEntries ?? raftNodeDefaults.snapshotEntries;
    this.snapshotCatchUpEntries = cfg.snapshotCatchUpEntries ?? raftNodeDefaults.snapshotCatchUpEntries;
    this.commitWriteTicks = cfg.commitWriteTicks ?? raftNodeDefaults.commitWriteTicks;
    this.seq = cfg.rng.intn(2 ** 31) * 2 ** 21;

    // Rebuild the core's view and the state machine: snapshot, then the log after it.
    const snap = loaded.snapshot;
    if (snap.metadata.index > 0) {
      this.memStorage.applySnapshot(snap);
      this.confState = snap.metadata.confState;
      this.snapshotIndex = snap.metadata.index;
      this.appliedIndex = snap.metadata.index;
    }
    cfg.applier.restore(snap.data, snap.metadata.index);
    this.memStorage.append(loaded.entries);
    // Entries up to the snapshot are committed, whatever commit index was last written.
    const hs = loaded.hardState;
    this.memStorage.setHardState(hs.commit < snap.metadata.index ? { ...hs, commit: snap.metadata.index } : hs);
    this.durableHardState = hs;
    this.wasMember = this.isMember(cfg.id);
    this.noteNewMembers();

    const raftConfig: RaftConfig = {
      electionTicks: 10,
      heartbeatTicks: 1,
      ...cfg.raft,
      id: cfg.id,
      storage: this.memStorage,
      rng: cfg.rng,
      applied: snap.metadata.index,
    };
    this.rawNode = new RawNode(raftConfig, cfg.raftFactory?.(raftConfig));
    const empty = this.memStorage.lastIndex() === 0 && snap.metadata.index === 0;
    if (empty && cfg.bootstrap && cfg.bootstrap.length > 0) this.rawNode.bootstrap(cfg.bootstrap);

    cfg.transport.start({
      onMessage: (m) => this.receive(m),
    });
    this.drive();
  }

  // ---------------------------------------------------------------- inputs

  /** tick advances logical time by one tick: Raft timers, request deadlines. */
  tick(): void {
    if (this.stopped) return;
    this.nowTick++;
    if (
      this.removedAtTick !== undefined &&
      this.rawNode.raft.state !== 'leader' &&
      this.nowTick - this.removedAtTick >= 2 * this.rawNode.raft.electionTimeout
    ) {
      this.fail(new StoppedError('removed from the cluster'));
      return;
    }
    this.rawNode.tick();
    this.flushCommit();
    this.expireDeadlines();
    this.checkSnapshots();
    this.drive();
  }

  /** receive steps a message from a peer (called by the transport). */
  receive(m: Message): void {
    if (this.stopped) return;
    if (m.from !== NONE) this.lastHeard.set(m.from, this.nowTick);
    this.rawNode.step(m);
    this.drive();
  }

  /**
   * propose replicates payload; cb receives the Applier's result once the
   * entry is applied on this peer, or an error. A TimeoutError means the
   * outcome is unknown; any other error means the entry was not appended.
   */
  propose(payload: Uint8Array, cb: Callback<unknown>): void {
    if (this.stopped) return cb(this.stopped);
    const seq = ++this.seq;
    const p: PendingProposal = { cb, deadline: this.nowTick + this.requestTimeoutTicks, kind: 'normal' };
    this.proposals.set(seq, p);
    const data = encodeEnvelope(this.id, seq, payload);
    if (this.persisting) {
      // Nothing of it could go out before the write completes anyway (the Ready loop waits).
      this.batched.push({ seq, data });
      return;
    }
    this.submit(seq, p, data);
    this.drive();
  }

  /** proposeConfChange proposes a membership change; cb receives the ConfState once applied here. */
  proposeConfChange(cc: Omit<ConfChange, 'context'>, cb: Callback<ConfState>): void {
    if (this.stopped) return cb(this.stopped);
    const seq = ++this.seq;
    const full: ConfChange = { ...cc, context: `${this.id}:${seq}` };
    const p: PendingProposal = {
      cb: cb as Callback<unknown>,
      deadline: this.nowTick + this.requestTimeoutTicks,
      kind: 'conf',
      cc: full,
    };
    this.proposals.set(seq, p);
    this.submit(seq, p, undefined);
    this.drive();
  }

  private submit(seq: number, p: PendingProposal, data: Uint8Array | undefined): void {
    const err =
      p.kind === 'conf' ? this.rawNode.proposeConfChange(p.cc!) : this.rawNode.propose(data!);
    this.settleSubmit(seq, p, data, err);
  }

  /** submitBatched proposes what was batched during the last write, in one MsgProp. */
  private submitBatched(): void {
    if (this.batched.length === 0) return;
    // A proposal whose deadline passed meanwhile was answered already.
    const batch = this.batched.filter((b) => this.proposals.has(b.seq));
    this.batched = [];
    if (batch.length === 0) return;
    const err = this.rawNode.proposeBatch(batch.map((b) => b.data));
    for (const b of batch) this.settleSubmit(b.seq, this.proposals.get(b.seq)!, b.data, err);
  }

  private settleSubmit(seq: number, p: PendingProposal, data: Uint8Array | undefined, err: RaftError | undefined): void {
    if (!err) {
      p.data = undefined;
      return;
    }
    if (err instanceof RaftError && err.code === 'proposal-dropped' && (err as { reason?: string }).reason === 'no-leader') {
      // Not appended anywhere: safe to retry once a leader is known.
      if (p.kind === 'normal') p.data = data;
      this.waitingForLeader.push(seq);
      return;
    }
    this.proposals.delete(seq);
    p.cb(new ProposalRefusedError((err as { reason?: string }).reason ?? err.message, { cause: err }));
  }

  /**
   * readIndex calls cb once this peer has applied everything committed
   * before the call (a linearizable read point, thesis §6.4). Concurrent
   * calls share one ReadIndex request. Read the state machine inside cb.
   */
  readIndex(cb: Callback<void>): void {
    if (this.stopped) return cb(this.stopped);
    if (this.cfg.mutant === 'stale-read') return cb(undefined);
    this.readsToRequest.push({ cb, deadline: this.nowTick + this.requestTimeoutTicks });
    this.drive();
  }

  /** transferLeadership asks the leader to hand over to `to`. */
  transferLeadership(to: NodeId): Error | undefined {
    const err = this.rawNode.transferLeader(to);
    this.drive();
    return err;
  }

  /** campaign starts an election at once (tests, manual failover). */
  campaign(): void {
    this.rawNode.campaign();
    this.drive();
  }

  /**
   * stop ends this peer. With `handOver`, a leader first transfers leadership
   * to the most caught-up voter so peers need no election timeout.
   */
  stop(opts: { handOver?: boolean } = {}): void {
    if (this.stopped) return;
    if (opts.handOver && this.rawNode.raft.state === 'leader') {
      const target = this.bestTransferTarget();
      if (target !== NONE) this.handOver(target);
    }
    this.fail(new StoppedError());
    this.cfg.transport.close();
  }

  /**
   * handOver is the leader's last act before its channels close (pagehide is
   * one synchronous chance: nothing runs after it). The core sends
   * MsgTimeoutNow only once the target has the whole log, and the Ready loop
   * sends nothing while a write is in flight; under write load either would
   * leave the peers to wait out an election timeout. So send what the core
   * queued now (a leader may send before it persists), then MsgTimeoutNow
   * unless the core already did. The channel is ordered: the target receives
   * the entries first. Safety does not rest on this: the target still needs
   * a majority's votes, and voters refuse a candidate whose log is behind.
   */
  private handOver(target: NodeId): void {
    const r = this.rawNode.raft;
    this.rawNode.transferLeader(target);
    if (r.state !== 'leader') return;
    const queued = r.msgs;
    r.msgs = [];
    this.send(queued);
    const sentByCore = queued.some((m) => m.type === MessageType.MsgTimeoutNow && m.to === target);
    if (!sentByCore && r.leadTransferee === target) {
      this.cfg.transport.send(message({ type: MessageType.MsgTimeoutNow, from: this.id, to: target, term: r.term }));
    }
  }

  private bestTransferTarget(): NodeId {
    const st = this.rawNode.status();
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const [id, pr] of st.progress ?? []) {
      if (id === this.id || pr.isLearner) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- the Ready loop

  private drive(): void {
    if (this.stopped || this.driving) return;
    if (this.persisting) return this.sendWhileWriting();
    this.driving = true;
    try {
      this.submitBatched();
      this.requestReads();
      while (!this.stopped && !this.persisting && this.rawNode.hasReady()) {
        const rd = this.rawNode.ready();
        this.noteRole();
        const [sendNow, sendLater] = this.splitBeforePersist(rd);
        // Start the write first (the disk works while we encode and send), then send what may
        // go before it is durable; the rest goes after the write, in afterPersist.
        const pending = this.persist(rd);
        this.send(sendNow);
        if (pending) {
          this.persisting = true;
          // While the write is in flight, apply what needs nothing from it (see applyEarly).
          const applied = this.applyEarly(rd);
          pending.then(
            () => {
              this.persisting = false;
              if (this.stopped) return;
              this.afterPersist(rd, sendLater, applied);
              this.drive();
            },
            (err: unknown) => this.fail(err),
          );
          return;
        }
        this.afterPersist(rd, sendLater, 0);
        this.requestReads();
        this.scheduleCommitFlush();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.driving = false;
    }
  }

  /** scheduleCommitFlush: after a Ready that wrote nothing, flush its commit index soon. */
  private scheduleCommitFlush(): void {
    const schedule = this.cfg.schedule;
    if (!schedule || this.commitFlushScheduled || this.persisting) return;
    if (this.memStorage.hardState.commit <= this.durableHardState.commit) return;
    this.commitFlushScheduled = true;
    schedule(() => {
      this.commitFlushScheduled = false;
      this.flushCommit(true);
    });
  }

  /** commitWriteDue: the written commit index is older than commitWriteTicks. */
  private commitWriteDue(): boolean {
    return this.nowTick - this.lastCommitWriteTick >= this.commitWriteTicks;
  }

  /**
   * flushCommit writes a commit index that no write carried (an idle node after its last batch):
   * one small transaction, which the Ready loop does not wait for (storage runs it before any
   * later write). With a scheduler it runs in the task after such a Ready, unless a write has
   * started meanwhile (which carries it); without one, once it has lagged commitWriteTicks.
   */
  private flushCommit(now = false): void {
    const latest = this.memStorage.hardState;
    if (this.stopped || this.persisting || latest.commit <= this.durableHardState.commit) return;
    if (!now && !this.commitWriteDue()) return;
    this.lastCommitWriteTick = this.nowTick;
    const done = (): void => {
      if (latest.commit > this.durableHardState.commit && latest.term === this.durableHardState.term)
        this.durableHardState = { ...this.durableHardState, commit: latest.commit };
    };
    try {
      const w = this.cfg.durable.persist({ hardState: latest, entries: [] });
      if (isPending(w)) w.then(done, (err: unknown) => this.fail(err));
      else done();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * sendWhileWriting sends, while a write is in flight, what cannot wait for it: vote requests
   * (a peer told to campaign by a leader handing over is often mid-write; they may leave before
   * anything is durable, for the reason sendableBeforePersist gives), and a leader's heartbeats,
   * so that a slow write (IndexedDB can stall for longer than an election timeout) does not make
   * its followers elect another. A heartbeat here carries at most the leader's durable last
   * index as its commit index: the core may count the leader's own, not yet written,
   * acknowledgement, and a learner told so could apply an entry the leader can still lose.
   */
  private sendWhileWriting(): void {
    const r = this.rawNode.raft;
    if (r.msgs.length === 0) return;
    const leads = r.state === 'leader' && !this.termOrVoteNotDurable(r.hardState());
    const durableLast = r.raftLog.unstable.offset - 1;
    const now: Message[] = [];
    const later: Message[] = [];
    for (const m of r.msgs) {
      if (isVoteRequest(m)) now.push(m);
      else if (leads && m.type === MessageType.MsgHeartbeat) now.push(m.commit > durableLast ? { ...m, commit: logIndex(durableLast) } : m);
      else later.push(m);
    }
    if (now.length === 0) return;
    r.msgs = later;
    this.send(now);
  }

  /**
   * splitBeforePersist splits a Ready's messages into what may leave before its write is durable
   * and what must wait. Before: a leader's messages (thesis §10.2.1: it counts its own
   * acknowledgement only in a later Ready, after this write), and vote requests (a candidate's
   * own vote counts only once this write is durable, since it can act as leader only in a later
   * Ready; etcd-io/raft sends them early too, holding back only MsgAppResp, MsgVoteResp and
   * MsgPreVoteResp). Not a leader's messages when its term or vote is not yet durable (a lone
   * voter elected in this very Ready): after a crash it could lead the same term again with other
   * entries at the same indexes.
   */
  private splitBeforePersist(rd: Ready): [now: readonly Message[], later: readonly Message[]] {
    if (this.rawNode.raft.state === 'leader' && !this.termOrVoteNotDurable(rd.hardState)) return [rd.messages, []];
    const now: Message[] = [];
    const later: Message[] = [];
    for (const m of rd.messages) (isVoteRequest(m) ? now : later).push(m);
    return [now, later];
  }

  /** termOrVoteNotDurable: `hs` has a term or vote that storage does not hold yet. */
  private termOrVoteNotDurable(hs: HardState | undefined): boolean {
    const d = this.durableHardState;
    return hs !== undefined && (hs.term !== d.term || hs.vote !== d.vote);
  }

  /**
   * applyEarly applies, while this Ready's write is in flight, its committed entries that are
   * already durable here (before its first new entry), and notes its read states. A committed
   * entry is durable on a quorum; applying it needs nothing from this write, and etcd's server
   * likewise applies in parallel with its WAL write. It is what lets a leader answer a put as
   * soon as a follower acknowledged it, instead of after its next write as well. Entries of this
   * Ready itself (a lone voter commits them by its own, not yet durable, acknowledgement) and
   * anything after a snapshot wait for the write. Returns how many entries it applied.
   */
  private applyEarly(rd: Ready): number {
    this.takeReadStates(rd);
    if (rd.snapshot) return 0;
    const firstNew = rd.entries.length > 0 ? rd.entries[0]!.index : Number.POSITIVE_INFINITY;
    let n = 0;
    while (n < rd.committedEntries.length && rd.committedEntries[n]!.index < firstNew && !this.stopped) {
      this.applyEntry(rd.committedEntries[n]!);
      n++;
    }
    if (n > 0) {
      this.releaseReads(this.appliedIndex);
      this.cfg.onApplied?.(this.appliedIndex);
    }
    return n;
  }

  /**
   * persist makes what the Ready needs durable before its messages go out and its entries apply.
   * Like etcd's MustSync, only new entries, a snapshot, or a changed term or vote need a write:
   * the commit index need not be durable (committed entries are durable on a quorum, and a peer
   * that restarts with an older commit index learns the newer one from the leader), so a Ready
   * that only advances it applies at once instead of waiting a transaction (the leader's second
   * fsync per put).
   */
  private persist(rd: Ready): Pending | undefined {
    const d = this.durableHardState;
    const hs = rd.hardState;
    const mustSync = rd.entries.length > 0 || rd.snapshot !== undefined || this.termOrVoteNotDurable(hs);
    if (!mustSync) return undefined;
    // The newest commit index rides along (a reloaded tab shows at once what it had applied);
    // one that no write carries is written alone soon after (flushCommit).
    const hardState = hs ?? (this.memStorage.hardState.commit !== d.commit ? this.memStorage.hardState : undefined);
    if (hardState) this.lastCommitWriteTick = this.nowTick;
    const r = this.cfg.durable.persist({ hardState, entries: rd.entries, snapshot: rd.snapshot });
    if (!isPending(r)) {
      if (hardState) this.durableHardState = hardState;
      return undefined;
    }
    return {
      then: (ok, fail) =>
        r.then(() => {
          if (hardState) this.durableHardState = hardState;
          ok();
        }, fail),
    };
  }

  /** afterPersist finishes a Ready once durable: send, apply what is left, advance. */
  private afterPersist(rd: Ready, sendLater: readonly Message[], appliedEarly: number): void {
    // The core reads its log from memStorage: mirror what is now durable.
    if (rd.snapshot) this.memStorage.applySnapshot(rd.snapshot);
    this.memStorage.append(rd.entries);
    if (rd.hardState) this.memStorage.setHardState(rd.hardState);
    this.send(sendLater);
    if (rd.snapshot) {
      this.cfg.applier.restore(rd.snapshot.data, rd.snapshot.metadata.index);
      this.confState = rd.snapshot.metadata.confState;
      this.snapshotIndex = rd.snapshot.metadata.index;
      this.appliedIndex = rd.snapshot.metadata.index;
    }
    if (appliedEarly === 0) this.takeReadStates(rd);
    let applied = appliedEarly;
    for (let i = appliedEarly; i < rd.committedEntries.length; i++) {
      this.applyEntry(rd.committedEntries[i]!);
      applied++;
    }
    this.rawNode.advance(rd);
    this.releaseReads(this.appliedIndex);
    if (applied > appliedEarly) this.cfg.onApplied?.(this.appliedIndex);
    if (applied > 0) this.maybeSnapshot(this.appliedIndex);
  }

  private takeReadStates(rd: Ready): void {
    for (const rs of rd.readStates) {
      if (!this.readsAwaitingIndex.has(rs.requestCtx)) continue;
      // Requests are confirmed in order, and a confirmation also covers every read that was
      // invoked before an earlier, unconfirmed (lost) request: the leader's index here was its
      // commit index after all of them were invoked.
      const reads: PendingRead[] = [];
      for (const [ctx, rs2] of this.readsAwaitingIndex) {
        this.readsAwaitingIndex.delete(ctx);
        for (const r of rs2) reads.push(r);
        if (ctx === rs.requestCtx) break;
      }
      this.readsAwaitingApply.push({ index: rs.index, reads });
    }
  }

  private applyEntry(e: Entry): void {
    this.appliedIndex = e.index;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.confState = this.rawNode.applyConfChange(cc);
      this.noteNewMembers();
      const [origin, seqStr] = cc.context.split(':');
      if (origin === this.id) this.resolve(Number(seqStr), undefined, this.confState);
      if (!this.isMember(this.id) && this.confState.voters.length > 0 && this.wasMember) {
        // Removed from the cluster: this peer stops, but not at once. A removed leader keeps
        // leading (taking no proposals) until the new configuration holds its whole log, and
        // followers may not have learned that its removal committed: stopping now could leave
        // them unable to apply it (with two voters, the remaining one could never elect itself).
        // It stops once it no longer leads and an election timeout has passed (see tick).
        this.removedAtTick ??= this.nowTick;
      }
      this.wasMember = this.isMember(this.id);
      return;
    }
    if (e.data.length === 0) return; // a new leader's empty entry
    const env = decodeEnvelope(e.data);
    if (!env) {
      // Not ours to interpret; apply as a no-op so every peer agrees.
      return;
    }
    const result = this.cfg.applier.apply(e.index, env.payload);
    if (env.origin === this.id) this.resolve(env.seq, undefined, result);
  }

  /**
   * noteNewMembers starts the clock of members never heard from at the moment
   * they join (or this peer starts), so "unreachable past the grace period"
   * counts from then rather than treating a new member as long gone.
   */
  private noteNewMembers(): void {
    const cs = this.confState;
    for (const id of [...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]) {
      if (id !== this.id && !this.lastHeard.has(id)) this.lastHeard.set(id, this.nowTick);
    }
  }

  private isMember(id: NodeId): boolean {
    const cs = this.confState;
    return cs.voters.includes(id) || cs.learners.includes(id) || cs.votersOutgoing.includes(id) || cs.learnersNext.includes(id);
  }

  private resolve(seq: number, err: Error | undefined, result: unknown): void {
    const p = this.proposals.get(seq);
    if (!p) return;
    this.proposals.delete(seq);
    p.cb(err, result);
  }

  private maybeSnapshot(applied: LogIndex): void {
    if (applied - this.snapshotIndex < this.snapshotEntries || this.snapJob) return;
    if (this.startSnapshotJob()) return;
    this.storeSnapshot(applied, this.confState, this.cfg.applier.snapshot());
  }

  /**
   * startSnapshotJob starts encoding a snapshot of the applied state in slices, one per scheduled
   * task (false: this node cannot, see RaftNodeConfig.schedule). When done it is stored like any
   * snapshot, and followers waiting for one that names them (see send) are sent it.
   */
  private startSnapshotJob(): boolean {
    const { schedule, applier } = this.cfg;
    if (this.snapJob) return true;
    if (!schedule || !applier.beginSnapshot) return false;
    const job = {
      enc: applier.beginSnapshot(),
      index: this.appliedIndex,
      confState: this.confState,
      waiting: new Set<NodeId>(),
    };
    this.snapJob = job;
    const slice = this.cfg.snapshotSliceItems ?? 2_000;
    const run = (): void => {
      if (this.stopped || this.snapJob !== job) return;
      try {
        if (!job.enc.step(slice)) return schedule(run);
        this.snapJob = undefined;
        // A snapshot from the leader may have been installed meanwhile: then this one is stale.
        if (job.index > this.memStorage.snapshot().metadata.index) {
          this.storeSnapshot(job.index, job.confState, job.enc.result());
        }
        for (const id of job.waiting) this.rawNode.reportSnapshot(id, false);
        this.drive();
      } catch (err) {
        this.fail(err);
      }
    };
    schedule(run);
    return true;
  }

  /**
   * storeSnapshot records the Applier's state at `index` as the node's snapshot and compacts the
   * log before it (keeping snapshotCatchUpEntries for slow followers). The Ready loop goes on
   * while storage writes it (storage runs its writes in call order); the in-memory log is
   * compacted once the snapshot is durable.
   */
  private storeSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): void {
    const snap: Snapshot = this.memStorage.createSnapshot(index, confState, data);
    this.snapshotIndex = index;
    const compactIndex = logIndex(Math.max(this.memStorage.firstIndex() - 1, index - this.snapshotCatchUpEntries));
    const compactMem = (): void => {
      if (compactIndex >= this.memStorage.firstIndex()) this.memStorage.compact(compactIndex);
    };
    const save = this.cfg.durable.saveSnapshot(snap, compactIndex);
    if (isPending(save)) save.then(compactMem, (err: unknown) => this.fail(err));
    else compactMem();
  }

  private send(msgs: readonly Message[]): void {
    for (let m of msgs) {
      if (m.type === 'MsgSnap' && m.snapshot && !namesPeer(m.snapshot.metadata.confState, m.to)) {
        // The stored snapshot predates the recipient's membership, and the core installs only a
        // snapshot whose ConfState names it: send the applied state instead, as etcd's server
        // does (createMergedSnapshotMessage). Otherwise a member added after the last snapshot
        // could not catch up until the next one (snapshotEntries later). Where snapshots are
        // encoded in slices, take a new one and send that when it is done.
        if (this.startSnapshotJob()) {
          this.snapJob!.waiting.add(m.to);
          continue;
        }
        m = { ...m, snapshot: this.appliedSnapshot() };
      }
      this.cfg.transport.send(m);
      // The follower's MsgAppResp after installing moves its progress on; if
      // that never comes, checkSnapshots reports the send failed so it retries.
      if (m.type === 'MsgSnap') this.snapshotSentAt.set(m.to, this.nowTick);
    }
  }

  /** appliedSnapshot is a snapshot of the state machine at the applied index (not stored). */
  private appliedSnapshot(): Snapshot {
    // What the Applier holds (entries applied early included), labelled with its index.
    const index = this.appliedIndex;
    return {
      metadata: { index, term: this.rawNode.raft.raftLog.term(index), confState: this.confState },
      data: this.cfg.applier.snapshot(),
    };
  }

  /** checkSnapshots reports snapshots unanswered for snapshotTimeoutTicks as failed. */
  private checkSnapshots(): void {
    if (this.snapshotSentAt.size === 0) return;
    const st = this.rawNode.status();
    const timeout = 10 * this.rawNode.raft.electionTimeout;
    for (const [id, at] of this.snapshotSentAt) {
      const pr = st.progress?.get(id);
      if (!pr || pr.state !== 'snapshot') {
        this.snapshotSentAt.delete(id);
      } else if (this.nowTick - at > timeout) {
        this.snapshotSentAt.delete(id);
        this.rawNode.reportSnapshot(id, false);
      }
    }
  }

  // ---------------------------------------------------------------- reads, leaders, deadlines

  /**
   * requestReads asks the leader for one read index covering every read queued since the last
   * request. Like etcd's read loop it keeps one request in flight: reads arriving meanwhile wait
   * for it to be confirmed and then share the next one, so 64 concurrent readers cost a few
   * heartbeat rounds, not one each. A request unconfirmed for an election timeout (lost with a
   * message or a leader) no longer holds the queue back.
   */
  private requestReads(): void {
    if (this.readsToRequest.length === 0) return;
    if (this.readsAwaitingIndex.size > 0 && this.nowTick - this.lastReadRequestTick < this.rawNode.raft.electionTimeout) return;
    this.lastReadRequestTick = this.nowTick;
    const ctx = `${this.id}/r${++this.readCtxSeq}`;
    const reads = this.readsToRequest;
    this.readsToRequest = [];
    const err = this.rawNode.readIndex(ctx);
    if (err) {
      // No leader now: keep them queued and try again at the next tick.
      this.readsToRequest = reads;
      return;
    }
    this.readsAwaitingIndex.set(ctx, reads);
  }

  private releaseReads(applied: LogIndex): void {
    if (this.readsAwaitingApply.length === 0) return;
    const ready = this.readsAwaitingApply.filter((r) => r.index <= applied);
    if (ready.length === 0) return;
    this.readsAwaitingApply = this.readsAwaitingApply.filter((r) => r.index > applied);
    for (const r of ready) for (const read of r.reads) read.cb(undefined);
  }

  private noteRole(): void {
    const r = this.rawNode.raft;
    if (r.state === this.lastRole && r.lead === this.lastLead) return;
    this.lastRole = r.state;
    this.lastLead = r.lead;
    this.cfg.onRoleChange?.(r.state, r.lead, r.term);
    if (r.lead !== NONE && this.waitingForLeader.length > 0) {
      const seqs = this.waitingForLeader;
      this.waitingForLeader = [];
      for (const seq of seqs) {
        const p = this.proposals.get(seq);
        if (p) this.submit(seq, p, p.data);
      }
    }
  }

  private expireDeadlines(): void {
    const now = this.nowTick;
    if (this.waitingForLeader.length > 0) this.noteRoleRetry();
    for (const [seq, p] of this.proposals) {
      if (p.deadline > now) continue;
      this.proposals.delete(seq);
      const waiting = this.waitingForLeader.indexOf(seq);
      if (waiting >= 0) {
        this.waitingForLeader.splice(waiting, 1);
        p.cb(new NoQuorumError());
      } else {
        p.cb(new TimeoutError('proposal'));
      }
    }
    const expire = (reads: PendingRead[], err: () => NodeError): PendingRead[] =>
      reads.filter((r) => {
        if (r.deadline > now) return true;
        r.cb(err());
        return false;
      });
    this.readsToRequest = expire(this.readsToRequest, () => new NoQuorumError());
    for (const [ctx, reads] of this.readsAwaitingIndex) {
      const left = expire(reads, () => new NoQuorumError('read index not confirmed by a quorum'));
      if (left.length === 0) this.readsAwaitingIndex.delete(ctx);
      else this.readsAwaitingIndex.set(ctx, left);
    }
    this.readsAwaitingApply = this.readsAwaitingApply
      .map((r) => ({ index: r.index, reads: expire(r.reads, () => new TimeoutError('read')) }))
      .filter((r) => r.reads.length > 0);
  }

  /** noteRoleRetry retries leader-less proposals if a leader appeared without a Ready (e.g. learned by message). */
  private noteRoleRetry(): void {
    if (this.rawNode.raft.lead !== NONE) {
      this.lastLead = NONE as NodeId;
      this.noteRole();
    }
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stopped = err instanceof Error ? err : new Error(String(err));
    const stoppedErr = err instanceof StoppedError ? err : new StoppedError(`node stopped: ${this.stopped.message}`);
    for (const p of this.proposals.values()) p.cb(stoppedErr);
    this.proposals.clear();
    this.batched = [];
    for (const r of this.readsToRequest) r.cb(stoppedErr);
    for (const reads of this.readsAwaitingIndex.values()) for (const r of reads) r.cb(stoppedErr);
    for (const { reads } of this.readsAwaitingApply) for (const r of reads) r.cb(stoppedErr);
    this.readsToRequest = [];
    this.readsAwaitingIndex.clear();
    this.readsAwaitingApply = [];
    if (!(err instanceof StoppedError)) this.cfg.onError?.(err);
  }

  // ---------------------------------------------------------------- status

  get isStopped(): boolean {
    return this.stopped !== undefined;
  }

  get ticks(): number {
    return this.nowTick;
  }

  status(): NodeStatus {
    const r = this.rawNode.raft;
    const st = this.rawNode.status();
    const et = r.electionTimeout;
    const members: MemberStatus[] = [];
    const cs = this.confState;
    const voters = new Set([...cs.voters, ...cs.votersOutgoing]);
    const all = [...new Set([...voters, ...cs.learners, ...cs.learnersNext])].sort();
    const last = r.raftLog.lastIndex();
    for (const id of all) {
      const heard = id === this.id ? this.nowTick : this.lastHeard.get(id);
      const age = heard === undefined ? Number.POSITIVE_INFINITY : this.nowTick - heard;
      const pr = st.progress?.get(id);
      members.push({
        id,
        role: voters.has(id) ? 'voter' : 'learner',
        healthy: age < et,
        lastHeardTicks: age,
        match: pr ? pr.match : -1,
        lag: pr ? last - pr.match : -1,
      });
    }
    let quorum: boolean;
    if (r.state === 'leader') {
      const healthyVoters = members.filter((m) => m.role === 'voter' && m.healthy).length;
      quorum = healthyVoters * 2 > voters.size;
    } else {
      const leaderHeard = r.lead === NONE ? undefined : this.lastHeard.get(r.lead);
      quorum = leaderHeard !== undefined && this.nowTick - leaderHeard < et;
    }
    return {
      id: this.id,
      role: r.state,
      term: r.term,
      leader: r.lead,
      commitIndex: r.raftLog.committed,
      appliedIndex: this.appliedIndex,
      lastIndex: last,
      snapshotIndex: this.snapshotIndex,
      config: cs,
      members,
      quorum,
      isLearner: r.isLearner,
      transport: this.cfg.transport.stats(),
      nowTick: this.nowTick,
    };
  }
}
