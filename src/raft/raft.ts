// The Raft state machine (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", and Ongaro's thesis), shaped after
// etcd-io/raft's raft.go. Synchronous and deterministic: all input arrives
// through step() and tick(), all output leaves through `msgs`, the log's
// unstable part and `readStates`, which RawNode packages as a Ready.
import { assert } from './assert.js';
import { validateConfig, type RaftConfig, type RaftLogger, type ResolvedRaftConfig } from './config.js';
import {
  Changer,
  confStatesEquivalent,
  decodeConfChange,
  describeConfChange,
  enterJoint,
  isLeaveJoint,
  leaveJointConfChange,
  restoreConfig,
  encodeConfChange,
  type ConfChange,
} from './confchange.js';
import { CompactedError, ConfChangeError, DropReason, ProposalDroppedError, type RaftError } from './errors.js';
import { ProgressState, type Progress } from './progress.js';
import { VoteResult, jointVoteResult } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import { ProgressTracker, describeTrackerConfig, type ProgressMap, type TrackerConfig } from './tracker.js';
import {
  EntryType,
  MessageType,
  NONE,
  StateType,
  logIndex,
  message,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
  type Term,
} from './types.js';
import { payloadsSizeBytes } from './util.js';

/** campaignTransfer tags votes of a leadership transfer: they bypass the leader lease check. */
export const campaignTransfer = 'CampaignTransfer';

const CampaignType = {
  PreElection: 'pre-election',
  Election: 'election',
  Transfer: 'transfer',
} as const;
type CampaignType = (typeof CampaignType)[keyof typeof CampaignType];

function voteRespMsgType(t: MessageType): MessageType {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new Error(`not a vote message: ${t}`);
}

/** Raft is one peer's consensus state. Use it through RawNode; tests may drive it directly. */
export class Raft {
  readonly id: NodeId;
  term: Term = term(0);
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  state: StateType = StateType.Follower;
  /** isLearner: this peer is a learner in the current configuration. */
  isLearner = false;
  /** msgs: outgoing messages not yet handed out in a Ready. */
  msgs: Message[] = [];
  lead: NodeId = NONE;
  /** leadTransferee: target of an ongoing leadership transfer, or NONE. */
  leadTransferee: NodeId = NONE;
  /**
   * pendingConfIndex: a new conf change may only be proposed once the log is
   * applied past this index (at most one pending change, thesis §4.1).
   */
  pendingConfIndex: LogIndex = logIndex(0);
  /** uncommittedSizeBytes: payload bytes appended by this leader and not yet committed. */
  uncommittedSizeBytes = 0;
  readOnly = new ReadOnly();
  /** pendingReadIndexMessages: reads received before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  /** readIndexBroadcastPending: ReadIndex requests await one shared heartbeat round (flushed per Ready). */
  private readIndexBroadcastPending = false;
  /**
   * applyingIndex: the last committed entry handed to the application in a
   * Ready it has not yet advanced (0: none). Set by RawNode. While such
   * entries are being applied, a snapshot is not installed: it would switch
   * the configuration under conf change entries older than the snapshot that
   * the application is about to apply (found by the simulator, test/sim).
   */
  applyingIndex: LogIndex = logIndex(0);
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly cfg: ResolvedRaftConfig;
  private readonly log: RaftLogger;

  constructor(config: RaftConfig) {
    this.cfg = validateConfig(config);
    this.id = this.cfg.id;
    this.log = this.cfg.logger;
    this.raftLog = new RaftLog(this.cfg.storage, this.cfg.maxCommittedSizePerReadyBytes);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.trk = new ProgressTracker(this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    const { cfg, prs } = restoreConfig(this.trk, confState, this.raftLog.lastIndex());
    const cs = this.switchToConfig(cfg, prs);
    assert(confStatesEquivalent(cs, confState), 'restored ConfState differs from storage');
    if (!(hardState.term === 0 && hardState.vote === NONE && hardState.commit === 0)) this.loadState(hardState);
    if (this.cfg.applied > 0) this.raftLog.appliedTo(this.cfg.applied);
    this.becomeFollower(this.term, NONE);
    this.log(
      `newRaft ${this.id} [peers: [${this.trk.voterNodes().join(',')}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  get electionTimeout(): number {
    return this.cfg.electionTicks;
  }

  get heartbeatTimeout(): number {
    return this.cfg.heartbeatTicks;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---------------------------------------------------------------- sending

  /** send queues a message, stamping our id and (for non-vote messages) our term. */
  protected send(fields: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    // A forwarded MsgProp, MsgReadIndex or MsgTransferLeader keeps its origin:
    // the leader must answer a read to the peer that asked, and transfer to the
    // requested transferee, not to the follower that forwarded the request.
    let m = message({ ...fields, from: fields.from !== undefined && fields.from !== NONE ? fields.from : this.id });
    const t = m.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Vote messages carry the term they are about, set by the caller.
      assert(m.term !== 0, () => `term should be set when sending ${t}`);
    } else {
      assert(m.term === 0, () => `term should not be set when sending ${t} (was ${m.term})`);
      // Proposals and read requests are forwarded to the leader as if local: no term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m = { ...m, term: this.term };
    }
    this.msgs.push(m);
  }

  /** sendAppend sends entries (or an empty probe/commit update) to `to`. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * maybeSendAppend sends a MsgApp with new entries to `to`, or a snapshot if
   * the entries it needs are compacted. Returns whether a message was sent.
   * With sendIfEmpty false, nothing is sent when there are no new entries.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = logIndex(pr.next - 1);
    const prevTerm = this.raftLog.termOrUndefined(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined && pr.state === ProgressState.Replicate && pr.inflights.full()) {
      // Throttled (a heartbeat response unpaused us with the window still
      // full): send only an empty MsgApp. Its ack or rejection frees the window
      // even if every message that filled it was lost; entries would overflow it.
      ents = [];
    } else if (prevTerm !== undefined) {
      try {
        ents = this.raftLog.entries(pr.next, this.cfg.maxSizePerMsgBytes);
      } catch (err) {
        if (!(err instanceof CompactedError)) throw err;
      }
    }
    if (prevTerm === undefined || ents === undefined) return this.maybeSendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({
      to,
      type: MessageType.MsgApp,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.commitToSend(),
    });
    pr.sentEntries(ents.length, payloadsSizeBytes(ents));
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.log(`${this.id} ignored sending snapshot to ${to} since it is not recently active`);
      return false;
    }
    const snap = this.raftLog.snapshot();
    assert(snap.metadata.index !== 0, 'need non-empty snapshot');
    this.log(
      `${this.id} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${snap.metadata.index}, term: ${snap.metadata.term}] to ${to} [${pr}]`,
    );
    pr.becomeSnapshot(snap.metadata.index);
    this.send({ to, type: MessageType.MsgSnap, snapshot: snap });
    return true;
  }

  /**
   * commitToSend is the commit index a MsgApp may carry. A leader may send
   * before its own write completes, so never one that rests on entries only
   * its own, not yet durable, ack replicated: a learner told so would apply
   * an entry the leader can still lose in a crash (found by the simulator,
   * test/sim). Only a lone voter commits by its own ack alone; with more
   * voters, some follower acked every committed entry after receiving it,
   * hence after this leader's write of it.
   */
  private commitToSend(): LogIndex {
    const c = this.raftLog.committed;
    if (!this.trk.isSingleton()) return c;
    return logIndex(Math.min(c, this.raftLog.unstable.offset - 1));
  }

  /** sendHeartbeat sends a heartbeat carrying a commit index the follower is known to have. */
  private sendHeartbeat(to: NodeId, ctx: string): void {
    const pr = this.trk.progress.get(to)!;
    const commit = logIndex(Math.min(pr.match, this.raftLog.committed));
    this.send({ to, type: MessageType.MsgHeartbeat, commit, context: ctx });
  }

  /** bcastAppend sends MsgApp to every member but ourselves. */
  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: string): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  /**
   * flushReadIndex starts one heartbeat round for every ReadIndex request
   * received since the previous round: concurrent reads share a round
   * (thesis §6.4 batching). RawNode calls it before building each Ready.
   */
  flushReadIndex(): void {
    if (!this.readIndexBroadcastPending) return;
    this.readIndexBroadcastPending = false;
    if (this.state === StateType.Leader) this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  // ---------------------------------------------------------------- commit and apply

  /** maybeCommit advances the commit index to what a quorum holds. Returns whether it moved. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.commitTermGuard());
  }

  /**
   * commitTermGuard is the term an entry must have to be committed by counting
   * replicas: the current term only (Raft §5.4.2). Older entries commit
   * indirectly, with the first entry of this term.
   */
  protected commitTermGuard(): Term {
    return this.term;
  }

  /** appliedTo records that the application applied up to index, and auto-leaves a joint config when due. */
  appliedTo(index: LogIndex): void {
    const newApplied = logIndex(Math.max(index, this.raftLog.applied));
    this.raftLog.appliedTo(newApplied);
    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === StateType.Leader) {
      // Propose leaving the joint config. It has no payload, so the size limit
      // cannot refuse it; a leadership transfer can, and then we retry at the next apply.
      const err = this.step(
        message({
          type: MessageType.MsgProp,
          from: this.id,
          entries: [{ term: term(0), index: logIndex(0), type: EntryType.ConfChange, data: encodeConfChange(leaveJointConfChange) }],
        }),
      );
      if (err) this.log(`${this.id} not initiating automatic transition out of joint configuration: ${err.message}`);
      else this.log(`initiating automatic transition out of joint configuration ${describeTrackerConfig(this.trk.config)}`);
    }
  }

  /**
   * appendEntry appends proposals to the leader's log, assigning term and
   * index. Returns false when the uncommitted size limit refuses them.
   */
  private appendEntry(es: readonly Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const ents = es.map((e, i) => ({ ...e, term: this.term, index: logIndex(li + 1 + i) }));
    if (!this.increaseUncommittedSize(ents)) {
      this.log(`${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    const last = this.raftLog.append(ents);
    // The leader acknowledges its own entries at once: RawNode hands them to
    // the application to persist before it processes any further message, and
    // no commit based on this ack leaves the peer until they are persisted.
    this.trk.progress.get(this.id)!.maybeUpdate(last);
    this.maybeCommit();
    return true;
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    const s = payloadsSizeBytes(ents);
    const max = this.cfg.maxUncommittedEntriesSizeBytes;
    if (max > 0 && this.uncommittedSizeBytes > 0 && s > 0 && this.uncommittedSizeBytes + s > max) return false;
    this.uncommittedSizeBytes += s;
    return true;
  }

  /** reduceUncommittedSize accounts for committed entries handed to the application. */
  reduceUncommittedSize(s: number): void {
    this.uncommittedSizeBytes = s > this.uncommittedSizeBytes ? 0 : this.uncommittedSizeBytes - s;
  }

  // ---------------------------------------------------------------- state transitions

  private reset(t: Term): void {
    if (this.term !== t) {
      this.term = t;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.match = logIndex(0);
      pr.next = logIndex(last + 1);
      pr.state = ProgressState.Probe;
      pr.pendingSnapshot = logIndex(0);
      pr.msgAppFlowPaused = false;
      pr.recentActive = false;
      pr.inflights = this.trk.newInflights();
      if (id === this.id) pr.match = last;
    });
    this.pendingConfIndex = logIndex(0);
    this.uncommittedSizeBytes = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
    this.readIndexBroadcastPending = false;
  }

  becomeFollower(t: Term, lead: NodeId): void {
    this.reset(t);
    this.lead = lead;
    this.state = StateType.Follower;
    this.log(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.state !== StateType.Leader, 'invalid transition [leader -> candidate]');
    this.reset(term(this.term + 1));
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.log(`${this.id} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    assert(this.state !== StateType.Leader, 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote: a failed pre-election leaves no trace.
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
    this.log(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.state !== StateType.Follower, 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    const pr = this.trk.progress.get(this.id)!;
    // The leader is trivially in replicate state and active.
    pr.becomeReplicate();
    pr.recentActive = true;
    // Conservatively treat every unapplied entry as a possible conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term commits everything before it (§5.4.2, §8).
    const ok = this.appendEntry([{ term: term(0), index: logIndex(0), type: EntryType.Normal, data: new Uint8Array(0) }]);
    assert(ok, 'empty entry was dropped');
    this.log(`${this.id} became leader at term ${this.term}`);
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.cfg.rng.intn(this.electionTimeout);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** promotable: may this peer campaign? Only voters in the configuration, not mid-snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  // ---------------------------------------------------------------- ticks

  /** tick advances logical time by one tick. */
  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(message({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  // ---------------------------------------------------------------- elections

  private hup(t: CampaignType): void {
    if (this.state === StateType.Leader) {
      this.log(`${this.id} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.log(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.log(`${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.log(`${this.id} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const lo = logIndex(this.raftLog.applied + 1);
    const hi = logIndex(this.raftLog.committed + 1);
    let ents: Entry[];
    try {
      ents = this.raftLog.slice(lo, hi, Number.MAX_SAFE_INTEGER);
    } catch {
      return true; // be conservative
    }
    return ents.some((e) => e.type === EntryType.ConfChange);
  }

  private campaign(t: CampaignType): void {
    let voteMsg: MessageType;
    let voteTerm: Term;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // Pre-votes ask about the next term without entering it.
      voteTerm = term(this.term + 1);
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      voteTerm = this.term;
    }
    if (this.poll(this.id, voteRespMsgType(voteMsg), true) === VoteResult.Won) {
      // We won by voting for ourselves: a single-voter cluster.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) continue;
      this.log(
        `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}] sent ${voteMsg} request to ${id} at term ${this.term}`,
      );
      this.send({
        to: id,
        type: voteMsg,
        term: voteTerm,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
        context: t === CampaignType.Transfer ? campaignTransfer : '',
      });
    }
  }

  private poll(id: NodeId, t: MessageType, v: boolean): VoteResult {
    if (v) this.log(`${this.id} received ${t} from ${id} at term ${this.term}`);
    else this.log(`${this.id} received ${t} rejection from ${id} at term ${this.term}`);
    this.trk.recordVote(id, v);
    return this.trk.tallyVotes().result;
  }

  /**
   * canGrantVote: may we vote for m's sender? Only if we already voted for it
   * in this term, or have not voted and know no leader, or it is a pre-vote
   * for a later term (§5.2, §5.4.1 checks the log separately; §9.6).
   */
  protected canGrantVote(m: Message): boolean {
    return (
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.MsgPreVote && m.term > this.term)
    );
  }

  // ---------------------------------------------------------------- step

  /**
   * step feeds one message into the state machine. Returns a RaftError for an
   * expected refusal (a dropped proposal); never throws for peer input.
   */
  step(m: Message): RaftError | undefined {
    // Term handling first (§5.1): everything carries a term except local messages.
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = m.context === campaignTransfer;
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Within the minimum election timeout of hearing from a leader we
          // neither update our term nor vote (thesis §4.2.3): a disruptive,
          // partitioned peer cannot depose a healthy leader.
          this.log(
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] ignored ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return undefined;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term we asked about; we enter it only if we win.
      } else {
        this.log(`${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`);
        const leaderMsg = m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap;
        this.becomeFollower(m.term, leaderMsg ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A stale leader cut off by a partition would never learn of our term
        // (we would ignore it, and with pre-vote nobody raises terms): tell it.
        this.send({ to: m.from, type: MessageType.MsgAppResp });
      } else if (m.type === MessageType.MsgPreVote) {
        // Reject so the pre-candidate learns our term and steps down (§9.6).
        this.log(`${this.id} rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
        this.send({ to: m.from, term: this.term, type: MessageType.MsgPreVoteResp, reject: true });
      } else {
        this.log(`${this.id} [term: ${this.term}] ignored a ${m.type} message with lower term from ${m.from} [term: ${m.term}]`);
      }
      return undefined;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.cfg.preVote ? CampaignType.PreElection : CampaignType.Election);
        return undefined;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        if (this.canGrantVote(m) && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.log(
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
          );
          // The response carries the term of the request: a granted pre-vote is
          // for the candidate's future term.
          this.send({ to: m.from, term: m.term, type: voteRespMsgType(m.type) });
          if (m.type === MessageType.MsgVote) {
            // Only real votes are recorded.
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.log(
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
          );
          this.send({ to: m.from, term: this.term, type: voteRespMsgType(m.type), reject: true });
        }
        return undefined;
      }
      default:
        switch (this.state) {
          case StateType.Leader:
            return this.stepLeader(m);
          case StateType.Candidate:
          case StateType.PreCandidate:
            return this.stepCandidate(m);
          case StateType.Follower:
            return this.stepFollower(m);
        }
    }
  }

  private stepLeader(m: Message): RaftError | undefined {
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        return undefined;
      case MessageType.MsgCheckQuorum:
        if (!this.trk.quorumActive() && !(this.cfg.stepDownOnRemoval && this.removedOrDemoted())) {
          this.log(`${this.id} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, NONE);
        }
        // Everyone but us must prove activity again before the next check.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return undefined;
      case MessageType.MsgProp:
        return this.leaderPropose(m);
      case MessageType.MsgReadIndex:
        // A removed leader may already be superseded: the singleton shortcut would read stale.
        if (this.removedOrDemoted()) return new ProposalDroppedError(DropReason.NotMember, 'read index');
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return undefined;
        }
        // Until this leader commits an entry of its own term, its commit index
        // may lag the true one (thesis §6.4 step 1): postpone the read.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return undefined;
        }
        this.queueReadIndex(m);
        return undefined;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) {
      this.log(`${this.id} no progress available for ${m.from}`);
      return undefined;
    }
    switch (m.type) {
      case MessageType.MsgAppResp:
        this.handleAppendResponse(m, pr);
        return undefined;
      case MessageType.MsgHeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // Heartbeat responses double as probes: resume replication if behind.
        if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressState.Probe) this.sendAppend(m.from);
        if (m.context === '') return undefined;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks) return undefined;
        const votes = new Map<NodeId, boolean>();
        for (const id of acks) votes.set(id, true);
        if (jointVoteResult(this.trk.config.voters, votes) !== VoteResult.Won) return undefined;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return undefined;
      }
      case MessageType.MsgSnapStatus:
        if (pr.state !== ProgressState.Snapshot) return undefined;
        if (m.reject) {
          // The send failed: forget the snapshot and probe from scratch.
          pr.pendingSnapshot = logIndex(0);
          this.log(`${this.id} snapshot failed, resumed sending replication messages to ${m.from} [${pr}]`);
        } else {
          this.log(`${this.id} snapshot succeeded, resumed sending replication messages to ${m.from} [${pr}]`);
        }
        pr.becomeProbe();
        // Wait for the follower's MsgAppResp (or a heartbeat round) before probing.
        pr.msgAppFlowPaused = true;
        return undefined;
      case MessageType.MsgUnreachable:
        // Optimistic replication probably lost messages: probe again.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return undefined;
      case MessageType.MsgTransferLeader: {
        if (pr.isLearner) {
          this.log(`${this.id} [term ${this.term}] ignored transferring leadership to learner ${m.from}`);
          return undefined;
        }
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) {
            this.log(`${this.id} [term ${this.term}] transfer leadership to ${transferee} is in progress, ignores request to same node`);
            return undefined;
          }
          this.abortLeaderTransfer();
          this.log(`${this.id} [term ${this.term}] abort previous transferring leadership`);
        }
        if (transferee === this.id) {
          this.log(`${this.id} is already leader. Ignored transferring leadership to self`);
          return undefined;
        }
        this.log(`${this.id} [term ${this.term}] starts to transfer leadership to ${transferee}`);
        // The transfer must finish within one election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) {
          this.sendTimeoutNow(transferee);
          this.log(`${this.id} sends MsgTimeoutNow to ${transferee} immediately as ${transferee} already has up-to-date log`);
        } else {
          this.sendAppend(transferee);
        }
        return undefined;
      }
    }
    return undefined;
  }

  private leaderPropose(m: Message): RaftError | undefined {
    assert(m.entries.length > 0, `${this.id} stepped empty MsgProp`);
    if (this.removedOrDemoted()) {
      // A leader removed from the configuration keeps leading until it steps down; it takes no proposals.
      return new ProposalDroppedError(DropReason.NotMember);
    }
    if (this.leadTransferee !== NONE) {
      this.log(`${this.id} [term ${this.term}] transfer leadership to ${this.leadTransferee} is in progress; dropping proposal`);
      return new ProposalDroppedError(DropReason.Transferring);
    }
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      const refused = this.checkConfChangeProposal(e.data);
      if (refused) {
        this.log(`${this.id} ignoring conf change at config ${describeTrackerConfig(this.trk.config)}: ${refused}`);
        return new ProposalDroppedError(DropReason.ConfChangeRefused, refused);
      }
      this.pendingConfIndex = logIndex(this.raftLog.lastIndex() + i + 1);
    }
    if (!this.appendEntry(m.entries)) return new ProposalDroppedError(DropReason.UncommittedSizeLimit);
    this.bcastAppend();
    return undefined;
  }

  /** checkConfChangeProposal returns why a conf change must be refused now, or ''. */
  private checkConfChangeProposal(data: Uint8Array): string {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch (err) {
      return (err as Error).message;
    }
    const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
    const alreadyJoint = this.trk.isJoint();
    const wantsLeaveJoint = cc.changes.length === 0;
    if (alreadyPending) {
      return `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
    }
    if (alreadyJoint && !wantsLeaveJoint) return 'must transition out of joint config first';
    if (!alreadyJoint && wantsLeaveJoint) return 'not in joint state; refusing empty conf change';
    // No other change is pending, so the configuration this change will be
    // applied to is the current one: validate it now, not at apply time.
    try {
      this.computeConfChange(cc);
    } catch (err) {
      if (err instanceof ConfChangeError) return err.message;
      throw err;
    }
    return '';
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      this.log(`${this.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`);
      // Fast backtracking: skip every entry of a term the follower cannot have (thesis §5.3 optimisation).
      let nextProbeIdx = m.rejectHint;
      if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        this.log(`${this.id} decreased progress of ${m.from} to [${pr}]`);
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    // A probe acknowledged at our current match still confirms the follower's
    // log: move to replicate even though match did not advance.
    if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
      if (pr.state === ProgressState.Probe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
        // The follower caught up past the compaction point (through the
        // snapshot or otherwise): replicate normally again.
        this.log(`${this.id} recovered from needing snapshot, resumed sending replication messages to ${m.from} [${pr}]`);
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) {
        pr.inflights.freeLE(m.index);
      }
      if (this.maybeCommit()) {
        this.releasePendingReadIndexMessages();
        this.bcastAppend();
      } else if (oldPaused) {
        // We had held back; the window opened.
        this.sendAppend(m.from);
      }
      // Stream what the window allows.
      while (this.maybeSendAppend(m.from, false)) {
        // keep sending
      }
      if (this.cfg.stepDownOnRemoval && this.removedOrDemoted() && this.stepDownIfHandedOver()) return;
      if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
        this.log(`${this.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
        this.sendTimeoutNow(m.from);
      }
    }
  }

  private stepCandidate(m: Message): RaftError | undefined {
    const myVoteRespType = this.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        this.log(`${this.id} no leader at term ${this.term}; dropping proposal`);
        return new ProposalDroppedError(DropReason.NoLeader);
      case MessageType.MsgReadIndex:
        return new ProposalDroppedError(DropReason.NoLeader, 'read index');
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from); // always m.term === this.term
        this.handleAppendEntries(m);
        return undefined;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return undefined;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return undefined;
      case myVoteRespType: {
        const result = this.poll(m.from, m.type, !m.reject);
        const { granted, rejected } = this.trk.tallyVotes();
        this.log(`${this.id} has received ${granted} ${m.type} votes and ${rejected} vote rejections`);
        if (result === VoteResult.Won) {
          if (this.state === StateType.PreCandidate) {
            this.campaign(CampaignType.Election);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          // A lost pre-vote keeps our term (m.term may be in our future); a
          // lost vote means another candidate may win this term.
          this.becomeFollower(this.term, NONE);
        }
        return undefined;
      }
      case MessageType.MsgTimeoutNow:
        this.log(`${this.id} [term ${this.term} state ${this.state}] ignored MsgTimeoutNow from ${m.from}`);
        return undefined;
    }
    return undefined;
  }

  private stepFollower(m: Message): RaftError | undefined {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === NONE) {
          this.log(`${this.id} no leader at term ${this.term}; dropping proposal`);
          return new ProposalDroppedError(DropReason.NoLeader);
        }
        if (this.cfg.disableProposalForwarding) {
          return new ProposalDroppedError(DropReason.ForwardingDisabled);
        }
        this.send({ ...m, to: this.lead, term: term(0) });
        return undefined;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return undefined;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return undefined;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return undefined;
      case MessageType.MsgTransferLeader:
        if (this.lead === NONE) {
          this.log(`${this.id} no leader at term ${this.term}; dropping leader transfer msg`);
          return undefined;
        }
        this.send({ ...m, to: this.lead, term: term(0) });
        return undefined;
      case MessageType.MsgTimeoutNow:
        this.log(`${this.id} [term ${this.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership`);
        // A transfer skips pre-vote: the old leader asked for it, there is no partition to detect.
        this.hup(CampaignType.Transfer);
        return undefined;
      case MessageType.MsgReadIndex:
        if (this.lead === NONE) {
          this.log(`${this.id} no leader at term ${this.term}; dropping index reading msg`);
          return new ProposalDroppedError(DropReason.NoLeader, 'read index');
        }
        this.send({ ...m, to: this.lead, term: term(0) });
        return undefined;
      case MessageType.MsgReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return undefined;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- follower handlers

  /** handleAppendEntries implements the AppendEntries receiver (§5.3). */
  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Entries up to our commit index are known to match: tell the leader where we are.
      this.send({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed });
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ to: m.from, type: MessageType.MsgAppResp, index: lastNew });
      return;
    }
    // Mismatch: hint the largest index ≤ m.index whose term is ≤ m.logTerm;
    // every entry between it and m.index must differ from the leader's.
    const hintIndex = logIndex(Math.min(m.index, this.raftLog.lastIndex()));
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.log(
      `${this.id} [logterm: ${this.raftLog.term(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
    );
    this.send({
      to: m.from,
      type: MessageType.MsgAppResp,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ to: m.from, type: MessageType.MsgHeartbeatResp, context: m.context });
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    const { index: sindex, term: sterm } = s.metadata;
    if (this.restore(s)) {
      this.log(`${this.id} [commit: ${this.raftLog.committed}] restored snapshot [index: ${sindex}, term: ${sterm}]`);
      this.send({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.lastIndex() });
    } else {
      this.log(`${this.id} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${sindex}, term: ${sterm}]`);
      this.send({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed });
    }
  }

  /**
   * restore installs a snapshot from the leader: the log is replaced by it and
   * the configuration reset to its ConfState. Returns false when the snapshot
   * is not news (already committed or matching our log).
   */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.applyingIndex > this.raftLog.applied) {
      // The leader retries the snapshot once this peer reports back.
      this.log(`${this.id} [applying up to ${this.applyingIndex}] ignored snapshot [index: ${s.metadata.index}] until those entries are applied`);
      return false;
    }
    if (this.state !== StateType.Follower) {
      // Defensive: only followers install snapshots. Never expected.
      this.log(`${this.id} attempted to restore snapshot as ${this.state}; should never happen`);
      this.becomeFollower(term(this.term + 1), NONE);
      return false;
    }
    const cs = s.metadata.confState;
    const found = [...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(this.id);
    if (!found) {
      this.log(`${this.id} attempted to restore snapshot but it is not in the ConfState; should never happen`);
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the entries: just fast-forward the commit index.
      this.log(`${this.id} [commit: ${this.raftLog.committed}] fast-forwarded commit to snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    const { cfg, prs } = restoreConfig(this.trk, cs, this.raftLog.lastIndex());
    const got = this.switchToConfig(cfg, prs);
    assert(confStatesEquivalent(cs, got), 'snapshot ConfState was not restored faithfully');
    const pr = this.trk.progress.get(this.id)!;
    pr.maybeUpdate(logIndex(pr.next - 1));
    this.log(`${this.id} switched to configuration ${describeTrackerConfig(this.trk.config)}`);
    return true;
  }

  // ---------------------------------------------------------------- membership

  /** computeConfChange returns the configuration cc would produce, or throws ConfChangeError. */
  protected computeConfChange(cc: ConfChange): { cfg: TrackerConfig; prs: ProgressMap } {
    const changer = new Changer(this.trk, this.raftLog.lastIndex());
    if (isLeaveJoint(cc)) return changer.leaveJoint();
    const { joint, autoLeave } = enterJoint(cc);
    if (joint) return changer.enterJoint(autoLeave, cc.changes);
    return changer.simple(cc.changes);
  }

  /** applyConfChange applies a committed conf change and returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState {
    const { cfg, prs } = this.computeConfChange(cc);
    this.log(`${this.id} applying conf change ${describeConfChange(cc)}`);
    return this.switchToConfig(cfg, prs);
  }

  /**
   * switchToConfig makes cfg/prs current and reacts: a removed or demoted
   * leader steps down; a leader may commit more (quorum changed) and must
   * bring new members up to date.
   */
  private switchToConfig(cfg: TrackerConfig, prs: ProgressMap): ConfState {
    this.trk.config = cfg;
    this.trk.progress = prs;
    const cs = this.trk.confState();
    const pr = prs.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    if ((!pr || this.isLearner) && this.state === StateType.Leader) {
      // Removed or demoted: etcd's default is to lead until the next election;
      // tabd steps down, once the new voters hold its whole log.
      if (!this.cfg.stepDownOnRemoval || this.stepDownIfHandedOver()) return cs;
    }
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  /** removedOrDemoted: this peer is not a voter of its applied configuration. */
  private removedOrDemoted(): boolean {
    const pr = this.trk.progress.get(this.id);
    return !pr || pr.isLearner;
  }

  /**
   * stepDownIfHandedOver: a leader that removed or demoted itself steps down
   * once a quorum of the new configuration's voters holds its whole log.
   * Stepping down earlier can wedge the cluster for good: a voter that has
   * not heard that the removal committed still counts this peer's vote, and
   * this peer refuses it to a log shorter than its own (found by the
   * simulator, test/sim). Until then it keeps replicating (and ignores
   * CheckQuorum), but takes no proposals and serves no reads.
   */
  private stepDownIfHandedOver(): boolean {
    if (this.trk.committed() < this.raftLog.lastIndex()) return false;
    this.becomeFollower(this.term, NONE);
    return true;
  }

  // ---------------------------------------------------------------- reads and transfers

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) {
      if (this.trk.isSingleton()) this.respondToReadIndex(m, this.raftLog.committed);
      else this.queueReadIndex(m);
    }
  }

  private queueReadIndex(m: Message): void {
    this.readOnly.addRequest(this.raftLog.committed, m);
    // Our own ack: the leader counts toward the quorum that confirms it.
    this.readOnly.recvAck(this.id, m.context);
    this.readIndexBroadcastPending = true;
  }

  private respondToReadIndex(req: Message, readIndex: LogIndex): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.context });
      return;
    }
    this.send({ to: req.from, type: MessageType.MsgReadIndexResp, index: readIndex, context: req.context });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ to, type: MessageType.MsgTimeoutNow });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      () => `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }
}
