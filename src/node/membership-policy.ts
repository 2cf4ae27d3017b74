// The membership policy a leader follows so that a cluster of tabs keeps its
// shape by itself (DESIGN.md §3): new tabs join as learners, learners that
// have caught up are promoted until the target voter count is reached, a
// voter unreachable past a grace period is replaced by a caught-up learner,
// and long-gone learners are removed. Pure: it looks at a view and returns at
// most one change; RawNode refuses a second change while one is pending.
import type { ConfChange, ConfState, NodeId } from '../raft/index.js';

export interface MembershipView {
  readonly config: ConfState;
  /** leaderLastIndex: the leader's last log index. */
  readonly leaderLastIndex: number;
  /** peers: every peer this leader knows of (members and connected non-members). */
  readonly peers: ReadonlyMap<NodeId, { readonly connected: boolean; readonly lastHeardTicks: number; readonly match: number }>;
  readonly self: NodeId;
}

export interface MembershipPolicyConfig {
  /** targetVoters: voters the cluster aims for (1, 3 or 5). */
  readonly targetVoters: number;
  /** graceTicks: a member unheard for this long is considered gone. */
  readonly graceTicks: number;
  /** caughtUpEntries: a learner within this many entries of the leader may be promoted. */
  readonly caughtUpEntries: number;
}

/** planMembershipChange returns the next change the leader should propose, or undefined. */
export function planMembershipChange(view: MembershipView, cfg: MembershipPolicyConfig): Omit<ConfChange, 'context'> | undefined {
  const cs = view.config;
  // Never plan while joint: the core leaves it (auto-leave) first.
  if (cs.votersOutgoing.length > 0) return undefined;
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  const info = (id: NodeId) => view.peers.get(id);
  const alive = (id: NodeId): boolean => {
    if (id === view.self) return true;
    const p = info(id);
    return p !== undefined && p.lastHeardTicks < cfg.graceTicks;
  };
  const caughtUp = (id: NodeId): boolean => {
    const p = info(id);
    return p !== undefined && p.match >= 0 && view.leaderLastIndex - p.match <= cfg.caughtUpEntries;
  };
  const sorted = (s: Iterable<NodeId>): NodeId[] => [...s].sort();

  // 1. A connected peer that is not a member joins as a learner.
  for (const [id, p] of [...view.peers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (id === view.self || voters.has(id) || learners.has(id) || !p.connected) continue;
    return { transition: 'auto', changes: [{ type: 'add-learner', nodeId: id }] };
  }
  const readyLearners = sorted(learners).filter((id) => alive(id) && caughtUp(id));
  const deadVoters = sorted(voters).filter((id) => !alive(id));

  // 2. Replace a dead voter by a caught-up learner, atomically (joint consensus).
  if (deadVoters.length > 0 && readyLearners.length > 0) {
    return {
      transition: 'auto',
      changes: [
        { type: 'add-node', nodeId: readyLearners[0]! },
        { type: 'remove-node', nodeId: deadVoters[0]! },
      ],
    };
  }
  // 3. Promote caught-up learners until the target is reached, keeping the
  // voter count odd: two voters tolerate no more failures than one and need
  // both to be up, so 1 → 3 and 3 → 5 promote two learners at once (joint).
  const want = cfg.targetVoters - voters.size;
  if (want >= 2 && readyLearners.length >= 2) {
    return {
      transition: 'auto',
      changes: [
        { type: 'add-node', nodeId: readyLearners[0]! },
        { type: 'add-node', nodeId: readyLearners[1]! },
      ],
    };
  }
  if (want >= 1 && voters.size % 2 === 0 && readyLearners.length >= 1) {
    return { transition: 'auto', changes: [{ type: 'add-node', nodeId: readyLearners[0]! }] };
  }
  // 4. Too many voters (the target was lowered, or a replacement raced): drop a dead one first.
  if (voters.size > cfg.targetVoters) {
    const victim = deadVoters[0] ?? sorted(voters).filter((id) => id !== view.self).at(-1);
    if (victim) return { transition: 'auto', changes: [{ type: 'remove-node', nodeId: victim }] };
  }
  // 5. Learners gone past the grace period are removed.
  const deadLearner = sorted(learners).find((id) => !alive(id));
  if (deadLearner) return { transition: 'auto', changes: [{ type: 'remove-node', nodeId: deadLearner }] };
  return undefined;
}
