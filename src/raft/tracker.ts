import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import {
  describeJoint,
  jointCommittedIndex,
  jointVoteResult,
  type JointConfig,
  type MajorityConfig,
  type VoteResult,
} from './quorum.js';
import type { ConfState, LogIndex, NodeId } from './types.js';

/**
 * TrackerConfig is a membership as the leader tracks it. Invariants (checked
 * by `checkInvariants` in confchange.ts): learners are disjoint from both voter
 * halves; learnersNext ⊆ outgoing voters; outside joint consensus, outgoing and
 * learnersNext are empty and autoLeave is false.
 */
export interface TrackerConfig {
  voters: JointConfig;
  learners: ReadonlySet<NodeId>;
  learnersNext: ReadonlySet<NodeId>;
  autoLeave: boolean;
}

export type ProgressMap = Map<NodeId, Progress>;

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(c.voters[0]), new Set(c.voters[1])],
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function describeTrackerConfig(c: TrackerConfig): string {
  let s = `voters=${describeJoint(c.voters)}`;
  if (c.learners.size > 0) s += ` learners=(${[...c.learners].sort().join(' ')})`;
  if (c.learnersNext.size > 0) s += ` learners_next=(${[...c.learnersNext].sort().join(' ')})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

/** ProgressTracker tracks the configuration and each member's progress and votes. */
export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflightMsgs: number,
    readonly maxInflightBytes: number,
  ) {}

  newInflights(): Inflights {
    return new Inflights(this.maxInflightMsgs, this.maxInflightBytes);
  }

  confState(): ConfState {
    const sorted = (s: MajorityConfig): NodeId[] => [...s].sort();
    return {
      voters: sorted(this.config.voters[0]),
      votersOutgoing: sorted(this.config.voters[1]),
      learners: sorted(this.config.learners),
      learnersNext: sorted(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  isJoint(): boolean {
    return this.config.voters[1].size > 0;
  }

  /** isSingleton: exactly one voter and not joint (a leader may then answer reads at once). */
  isSingleton(): boolean {
    return this.config.voters[0].size === 1 && this.config.voters[1].size === 0;
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters[0].has(id) || this.config.voters[1].has(id);
  }

  /** committed is the largest index acknowledged by a quorum of the (joint) configuration. */
  committed(): LogIndex {
    return jointCommittedIndex(this.config.voters, (id) => this.progress.get(id)?.match);
  }

  /** visit calls f for every tracked member in sorted id order (deterministic traces). */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    const ids = [...this.progress.keys()].sort();
    for (const id of ids) f(id, this.progress.get(id)!);
  }

  /** quorumActive: did a quorum of voters show activity since the last check? */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    }
    return jointVoteResult(this.config.voters, votes) === 'won';
  }

  voterNodes(): NodeId[] {
    return [...new Set([...this.config.voters[0], ...this.config.voters[1]])].sort();
  }

  learnerNodes(): NodeId[] {
    return [...this.config.learners].sort();
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** recordVote records the first vote of id; later votes of the same id are ignored. */
  recordVote(id: NodeId, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }
}
