// Random membership changes, proposed at the leader when none is pending:
// add a fresh node as a learner, promote a learner, remove a voter or a
// learner, replace a voter (one add and one remove in a single ConfChange,
// which goes through a joint configuration), leave an explicit joint
// configuration, or transfer leadership. Voter counts stay within 1..7.
import {
  ConfChangeTransition,
  ConfChangeType,
  leaveJointConfChange,
  maxVoters,
  type ConfChange,
  type ConfState,
  type NodeId,
} from '../../src/raft/index.js';
import type { SimRng } from './sim-rng.js';

export type MembershipAction =
  | {
      readonly kind: 'change';
      readonly cc: ConfChange;
      readonly fresh: readonly NodeId[];
      readonly what: string;
    }
  | { readonly kind: 'transfer'; readonly to: NodeId; readonly what: string };

/** maxMembers bounds voters + learners so runs stay small. */
const maxMembers = 9;

/**
 * RemovalPolicy says which voters may be removed (alone or by a
 * replacement). A removed voter cannot campaign, yet a member that has not
 * heard that its removal committed still counts its vote, and it refuses
 * that vote to a log shorter than its own: when it is the only one holding
 * the longest log, nobody can be elected, ever. Two ways to get there:
 * - the leader removes itself and crashes before it handed its whole log
 *   over (Raft.stepDownIfHandedOver), or without PreVote and CheckQuorum a
 *   higher term deposes it first;
 * - in a configuration of one or two voters, the leader sent entries before
 *   writing them (as a leader may), crashed, lost them and forgot that the
 *   removal committed, while the removed follower kept them.
 * Applications avoid both: transfer leadership first (src/node never
 * removes itself), and shrink only from three voters.
 */
export interface RemovalPolicy {
  /** leaderMayRemoveItself: only from three or more voters. */
  readonly leaderMayRemoveItself: boolean;
  /** minVoters: no voter is removed from a configuration with fewer voters. */
  readonly minVoters: number;
}

/**
 * chooseMembershipAction picks a change for the configuration cs (the
 * leader's). freshId allocates an id never used before.
 */
export function chooseMembershipAction(
  rng: SimRng,
  cs: ConfState,
  leader: NodeId,
  freshId: () => NodeId,
  policy: RemovalPolicy,
): MembershipAction | undefined {
  if (cs.votersOutgoing.length > 0) {
    // Joint: an explicit joint configuration is left by an empty ConfChange;
    // an automatic one is left by the leader itself.
    if (cs.autoLeave) return undefined;
    return { kind: 'change', cc: leaveJointConfChange, fresh: [], what: 'leave joint' };
  }
  const voters = cs.voters;
  const learners = cs.learners;
  const removable =
    voters.length < policy.minVoters
      ? []
      : policy.leaderMayRemoveItself && voters.length >= 3
        ? voters
        : voters.filter((v) => v !== leader);
  const members = voters.length + learners.length;
  const options: { w: number; make: () => MembershipAction | undefined }[] = [];
  const single = (
    type: ConfChangeType,
    id: NodeId,
    fresh: NodeId[],
    what: string,
  ): MembershipAction => ({
    kind: 'change',
    cc: { transition: ConfChangeTransition.Auto, changes: [{ type, nodeId: id }], context: '' },
    fresh,
    what,
  });
  if (members < maxMembers) {
    options.push({
      w: 3,
      make: () => {
        const id = freshId();
        return single(ConfChangeType.AddLearnerNode, id, [id], `add learner ${id}`);
      },
    });
  }
  if (learners.length > 0 && voters.length < maxVoters) {
    options.push({
      w: 3,
      make: () => {
        const id = rng.pick(learners);
        return single(ConfChangeType.AddNode, id, [], `promote learner ${id}`);
      },
    });
  }
  if (learners.length >= 2 && voters.length + 2 <= maxVoters) {
    // Two learners at once, keeping the voter count odd (src/node's policy does this from 1 and 3).
    options.push({
      w: 2,
      make: () => {
        const [a, b] = rng.shuffled(learners);
        return {
          kind: 'change',
          cc: {
            transition: rng.pick([ConfChangeTransition.Auto, ConfChangeTransition.JointExplicit]),
            changes: [
              { type: ConfChangeType.AddNode, nodeId: a! },
              { type: ConfChangeType.AddNode, nodeId: b! },
            ],
            context: '',
          },
          fresh: [],
          what: `promote learners ${a} and ${b} together`,
        };
      },
    });
  }
  if (learners.length > 0) {
    options.push({
      w: 1,
      make: () => {
        const id = rng.pick(learners);
        return single(ConfChangeType.RemoveNode, id, [], `remove learner ${id}`);
      },
    });
  }
  if (voters.length > 1 && removable.length > 0) {
    options.push({
      w: 2,
      make: () => {
        const id = rng.pick(removable);
        return single(
          ConfChangeType.RemoveNode,
          id,
          [],
          `remove voter ${id}${id === leader ? ' (the leader)' : ''}`,
        );
      },
    });
  }
  if ((learners.length > 0 || members < maxMembers) && removable.length > 0) {
    options.push({
      w: 4,
      make: () => {
        // Prefer a learner (likely caught up) as the new voter; else a fresh node.
        const fresh: NodeId[] = [];
        let add: NodeId;
        if (learners.length > 0 && rng.chance(0.75)) {
          add = rng.pick(learners);
        } else {
          add = freshId();
          fresh.push(add);
        }
        const remove = rng.pick(removable);
        const transition = rng.pick([
          ConfChangeTransition.Auto,
          ConfChangeTransition.JointExplicit,
          ConfChangeTransition.JointImplicit,
        ]);
        const swapped = rng.chance(0.5);
        const changes = [
          { type: ConfChangeType.AddNode, nodeId: add },
          { type: ConfChangeType.RemoveNode, nodeId: remove },
        ];
        return {
          kind: 'change',
          cc: { transition, changes: swapped ? changes.reverse() : changes, context: '' },
          fresh,
          what: `replace voter ${remove} by ${add} (${transition})`,
        };
      },
    });
  }
  if (voters.length > 1) {
    options.push({
      w: 1,
      make: () => {
        const others = voters.filter((v) => v !== leader);
        if (others.length === 0) return undefined;
        const to = rng.pick(others);
        return { kind: 'transfer', to, what: `transfer leadership ${leader} -> ${to}` };
      },
    });
  }
  const total = options.reduce((s, o) => s + o.w, 0);
  if (total === 0) return undefined;
  let x = rng.intn(total);
  for (const o of options) {
    if (x < o.w) return o.make();
    x -= o.w;
  }
  return undefined;
}

/** members lists every node a ConfState names (voters, outgoing voters, learners). */
export function confMembers(cs: ConfState): Set<NodeId> {
  return new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
}
