import { assert } from './assert.js';
import type { RaftConfig } from './config.js';
import {
  ConfChangeType,
  decodeConfChange,
  encodeConfChange,
  type ConfChange,
} from './confchange.js';
import {
  ProposalDroppedError,
  DropReason,
  RaftError,
  StepLocalMessageError,
  StepPeerNotFoundError,
} from './errors.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import { describeTrackerConfig } from './tracker.js';
import {
  EntryType,
  MessageType,
  NONE,
  localMessageTypes,
  logIndex,
  message,
  responseMessageTypes,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type Message,
  type NodeId,
  type Ready,
  type SoftState,
} from './types.js';
import { payloadsSizeBytes } from './util.js';

/** LeaderTransferRefusedError: the target of a leadership transfer cannot lead. */
export class LeaderTransferRefusedError extends RaftError {
  readonly code = 'leader-transfer-refused';
}

/** ProgressStatus is the leader's view of one member, for status(). */
export interface ProgressStatus {
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly paused: boolean;
  readonly inflight: number;
}

/** Status is a snapshot of a peer's Raft state for monitoring and tests. */
export interface Status {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  readonly configDescription: string;
  /** progress is present on the leader only. */
  readonly progress?: ReadonlyMap<NodeId, ProgressStatus>;
}

/**
 * RawNode is the application's handle on a Raft peer (etcd-io/raft's RawNode).
 * Drive it with tick(), step(), propose(); then, while hasReady(), take
 * ready(), handle it (persist, send, apply: see Ready), and call advance().
 * Do not call ready() again before advance(): the leader counts its own new
 * entries as replicated, which is only true once that Ready is persisted.
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;
  private awaitingAdvance = false;

  constructor(config: RaftConfig, raft?: Raft) {
    this.raft = raft ?? new Raft(config);
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  /**
   * bootstrap initializes a brand-new cluster's first peers: ConfChange
   * entries adding each voter are appended and committed. Storage must be
   * empty; every founding peer must bootstrap with the same list.
   */
  bootstrap(voters: readonly NodeId[]): void {
    assert(voters.length > 0, 'must provide at least one peer to bootstrap');
    assert(this.raft.raftLog.lastIndex() === 0, "can't bootstrap a nonempty storage");
    // Our hard state is empty, so prevHardSt must differ from what follows to be persisted.
    this.prevHardSt = { term: term(0), vote: NONE, commit: logIndex(0) };
    this.raft.becomeFollower(term(1), NONE);
    const ents: Entry[] = voters.map((id, i) => ({
      term: term(1),
      index: logIndex(i + 1),
      type: EntryType.ConfChange,
      data: encodeConfChange({ transition: 'auto', changes: [{ type: ConfChangeType.AddNode, nodeId: id }], context: '' }),
    }));
    this.raft.raftLog.append(ents);
    // The entries are committed by definition; apply them to the tracker now
    // (the application applies them again through the normal path, a no-op).
    this.raft.raftLog.committed = logIndex(ents.length);
    for (const id of voters) {
      this.raft.applyConfChange({ transition: 'auto', changes: [{ type: ConfChangeType.AddNode, nodeId: id }], context: '' });
    }
  }

  tick(): void {
    this.raft.tick();
  }

  /** campaign makes this peer start an election now (pre-vote first if enabled). */
  campaign(): RaftError | undefined {
    return this.raft.step(message({ type: MessageType.MsgHup, from: this.raft.id }));
  }

  /** propose asks to append data to the log. Returns ProposalDroppedError if refused. */
  propose(data: Uint8Array): RaftError | undefined {
    return this.raft.step(
      message({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: term(0), index: logIndex(0), type: EntryType.Normal, data }],
      }),
    );
  }

  /**
   * proposeBatch asks to append several entries at once: one MsgProp, so the leader sends them
   * to each follower in one MsgApp (and a follower forwards them in one message). All or none of
   * them are appended; the error, if any, is the same for all.
   */
  proposeBatch(datas: readonly Uint8Array[]): RaftError | undefined {
    assert(datas.length > 0, 'proposeBatch of nothing');
    return this.raft.step(
      message({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: datas.map((data) => ({ term: term(0), index: logIndex(0), type: EntryType.Normal, data })),
      }),
    );
  }

  /** proposeConfChange proposes a membership change. Refused at the leader while another is pending. */
  proposeConfChange(cc: ConfChange): RaftError | undefined {
    return this.raft.step(
      message({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: term(0), index: logIndex(0), type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** applyConfChange applies a committed conf change entry's change; call it when applying that entry. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** applyConfChangeEntry decodes and applies a committed ConfChange entry. */
  applyConfChangeEntry(e: Entry): ConfState {
    assert(e.type === EntryType.ConfChange, 'not a conf change entry');
    return this.raft.applyConfChange(decodeConfChange(e.data));
  }

  /** step feeds a message received from a peer. Local message types are refused. */
  step(m: Message): RaftError | undefined {
    if (localMessageTypes.has(m.type)) return new StepLocalMessageError();
    if (responseMessageTypes.has(m.type) && !this.raft.trk.progress.has(m.from) && this.raft.state === 'leader') {
      return new StepPeerNotFoundError();
    }
    return this.raft.step(m);
  }

  /**
   * readIndex requests a linearizable read point (thesis §6.4). The answer
   * arrives as a ReadState with the same ctx in a later Ready.
   */
  readIndex(ctx: string): RaftError | undefined {
    return this.raft.step(message({ type: MessageType.MsgReadIndex, from: this.raft.id, context: ctx }));
  }

  /**
   * transferLeader asks the leader to hand leadership to `transferee` (thesis
   * §3.10). On the leader, a learner or non-member target is refused.
   */
  transferLeader(transferee: NodeId): RaftError | undefined {
    const r = this.raft;
    if (r.state === 'leader') {
      const pr = r.trk.progress.get(transferee);
      if (!pr) return new LeaderTransferRefusedError(`transfer target ${transferee} is not a member`);
      if (pr.isLearner) return new LeaderTransferRefusedError(`transfer target ${transferee} is a learner`);
    } else if (r.lead === NONE) {
      return new ProposalDroppedError(DropReason.NoLeader, 'leader transfer');
    }
    return r.step(message({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /** reportUnreachable tells the leader the transport failed to reach id. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** reportSnapshot tells the leader how sending a snapshot to id ended. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  hasReady(): boolean {
    const r = this.raft;
    r.flushReadIndex();
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.raftState !== this.prevSoftSt.raftState) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardSt) && !(hs.term === 0 && hs.vote === NONE && hs.commit === 0)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstable.entries.length > 0 || r.raftLog.hasNextEnts()) return true;
    return r.readStates.length > 0;
  }

  /** ready returns the pending work and marks it handed out; call advance() once it is handled. */
  ready(): Ready {
    assert(!this.awaitingAdvance, 'ready() called again before advance()');
    const r = this.raft;
    r.flushReadIndex();
    const ss = r.softState();
    const hs = r.hardState();
    const entries = r.raftLog.unstableEntries();
    const snapshot = r.raftLog.hasPendingSnapshot() ? r.raftLog.unstable.snapshot : undefined;
    const hsChanged = !hardStateEqual(hs, this.prevHardSt);
    const rd: Ready = {
      softState: ss.lead !== this.prevSoftSt.lead || ss.raftState !== this.prevSoftSt.raftState ? ss : undefined,
      hardState: hsChanged ? hs : undefined,
      readStates: r.readStates,
      entries,
      snapshot,
      committedEntries: r.raftLog.nextEnts(),
      messages: r.msgs,
      mustSync:
        entries.length > 0 || snapshot !== undefined || hs.term !== this.prevHardSt.term || hs.vote !== this.prevHardSt.vote,
    };
    if (rd.softState) this.prevSoftSt = rd.softState;
    r.readStates = [];
    r.msgs = [];
    r.reduceUncommittedSize(payloadsSizeBytes(rd.committedEntries));
    const lastApplying = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplying) r.applyingIndex = lastApplying.index;
    this.awaitingAdvance = true;
    return rd;
  }

  /** advance tells the node the Ready was persisted, sent and applied. */
  advance(rd: Ready): void {
    assert(this.awaitingAdvance, 'advance() without ready()');
    this.awaitingAdvance = false;
    const r = this.raft;
    r.applyingIndex = logIndex(0);
    if (rd.hardState) this.prevHardSt = rd.hardState;
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    const applied = lastCommitted ? lastCommitted.index : rd.snapshot ? rd.snapshot.metadata.index : logIndex(0);
    if (rd.snapshot) r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(e.index, e.term);
    }
    if (applied > 0) r.appliedTo(applied);
  }

  status(): Status {
    const r = this.raft;
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (r.state === 'leader') {
      progress = new Map();
      r.trk.visit((id, pr) =>
        progress!.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          paused: pr.isPaused(),
          inflight: pr.inflights.count(),
        }),
      );
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      configDescription: describeTrackerConfig(r.trk.config),
      ...(progress ? { progress } : {}),
    };
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
