import { Inflights } from './inflights.js';
import { logIndex, type LogIndex } from './types.js';

export const ProgressState = {
  /** Probe: the leader does not know where the follower's log ends; one MsgApp per heartbeat. */
  Probe: 'probe',
  /** Replicate: the follower is in sync; MsgApp are streamed optimistically within the inflight window. */
  Replicate: 'replicate',
  /** Snapshot: the follower needs a snapshot; nothing else is sent until it reports back. */
  Snapshot: 'snapshot',
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/**
 * Progress is the leader's view of one follower. Invariant: match < next.
 */
export class Progress {
  match: LogIndex;
  next: LogIndex;
  state: ProgressState = ProgressState.Probe;
  /** pendingSnapshot: in Snapshot state, the index of the snapshot being sent. */
  pendingSnapshot: LogIndex = logIndex(0);
  /** recentActive: heard from during the current CheckQuorum interval. */
  recentActive = false;
  /** msgAppFlowPaused: sending more MsgApp must wait (probe sent, or window full). */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(init: {
    match: LogIndex;
    next: LogIndex;
    inflights: Inflights;
    isLearner: boolean;
    recentActive?: boolean;
  }) {
    this.match = init.match;
    this.next = init.next;
    this.inflights = init.inflights;
    this.isLearner = init.isLearner;
    this.recentActive = init.recentActive ?? false;
  }

  clone(): Progress {
    const p = new Progress({
      match: this.match,
      next: this.next,
      inflights: this.inflights.clone(),
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    });
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    return p;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = logIndex(0);
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // Resume right after the snapshot if it was applied (the follower will tell us otherwise).
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = logIndex(Math.max(this.match + 1, pending + 1));
    } else {
      this.resetState(ProgressState.Probe);
      this.next = logIndex(this.match + 1);
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = logIndex(this.match + 1);
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** sentEntries records that a MsgApp with `entries` entries of `bytes` bytes was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next = logIndex(this.next + entries);
        this.inflights.add(logIndex(this.next - 1), bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      if (entries > 0) this.msgAppFlowPaused = true;
    }
  }

  /** maybeUpdate records an acknowledgement of index n; returns whether match advanced. */
  maybeUpdate(n: LogIndex): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    if (this.next < n + 1) this.next = logIndex(n + 1);
    return updated;
  }

  /**
   * maybeDecrTo handles a rejection of the MsgApp sent after index `rejected`,
   * moving next back using the follower's hint. Returns false for stale rejections.
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === ProgressState.Replicate) {
      // Stale unless it rejects something beyond what is known matched.
      if (rejected <= this.match) return false;
      this.next = logIndex(this.match + 1);
      return true;
    }
    // In probe, only the rejection of the last probe counts.
    if (this.next - 1 !== rejected) return false;
    this.next = logIndex(Math.max(Math.min(rejected, matchHint + 1), this.match + 1));
    this.msgAppFlowPaused = false;
    return true;
  }

  /** isPaused: should the leader hold back MsgApp to this follower? */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
      case ProgressState.Replicate:
        return this.msgAppFlowPaused;
      case ProgressState.Snapshot:
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count();
    if (n > 0) s += ` inflight=${n}${this.inflights.full() ? '[full]' : ''}`;
    return s;
  }
}
