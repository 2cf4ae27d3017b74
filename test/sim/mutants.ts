// Deliberately broken Raft variants. Each removes one safety rule; the
// simulator's checkers must catch every one of them (test/sim/mutants.test.ts).
// They are injected with `new RawNode(config, createRaft(name, config))` and
// enabled only by `--mutant NAME`.
import { Changer, isLeaveJoint, type ConfChange } from '../../src/raft/confchange.js';
import {
  MessageType,
  Raft,
  type Message,
  type RaftConfig,
  type Term,
} from '../../src/raft/index.js';
import { ProgressTracker, type ProgressMap, type TrackerConfig } from '../../src/raft/tracker.js';

export const MutantName = {
  /** vote-twice: a node grants every vote request of its current term (breaks §5.2's one vote per term). */
  VoteTwice: 'vote-twice',
  /** commit-old-term: the leader commits entries of earlier terms by counting replicas (breaks §5.4.2). */
  CommitOldTerm: 'commit-old-term',
  /** skip-joint: a multi-voter change takes effect in one step, without the joint phase (breaks §4.3). */
  SkipJoint: 'skip-joint',
} as const;
export type MutantName = (typeof MutantName)[keyof typeof MutantName];

export const mutantNames: readonly MutantName[] = Object.values(MutantName);

export function isMutantName(s: string): s is MutantName {
  return (mutantNames as readonly string[]).includes(s);
}

class VoteTwiceRaft extends Raft {
  protected override canGrantVote(m: Message): boolean {
    // A real vote request for our term is granted even if we already voted for someone else.
    return m.type === MessageType.MsgVote || super.canGrantVote(m);
  }
}

class CommitOldTermRaft extends Raft {
  protected override commitTermGuard(): Term {
    // Whatever term the quorum-acknowledged entry has: the §5.4.2 check never refuses.
    return this.raftLog.term(this.trk.committed());
  }
}

class SkipJointRaft extends Raft {
  protected override computeConfChange(cc: ConfChange): { cfg: TrackerConfig; prs: ProgressMap } {
    const joint = super.computeConfChange(cc);
    if (isLeaveJoint(cc) || joint.cfg.voters[1].size === 0) return joint;
    // Enter the joint configuration and leave it at once: the new voters take over directly.
    const tmp = new ProgressTracker(this.trk.maxInflightMsgs, this.trk.maxInflightBytes);
    tmp.config = joint.cfg;
    tmp.progress = joint.prs;
    return new Changer(tmp, this.raftLog.lastIndex()).leaveJoint();
  }
}

/** createRaft builds the Raft instance for a node: the real one, or a mutant. */
export function createRaft(name: MutantName | undefined, config: RaftConfig): Raft {
  switch (name) {
    case undefined:
      return new Raft(config);
    case MutantName.VoteTwice:
      return new VoteTwiceRaft(config);
    case MutantName.CommitOldTerm:
      return new CommitOldTermRaft(config);
    case MutantName.SkipJoint:
      return new SkipJointRaft(config);
  }
}
