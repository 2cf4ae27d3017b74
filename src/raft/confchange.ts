// Membership changes (Raft thesis §4.3, etcd-io/raft's ConfChangeV2): simple
// changes move at most one voter; anything else goes through a joint
// configuration that needs majorities of both the old and the new voters.
import { assert } from './assert.js';
import { ConfChangeError } from './errors.js';
import { Progress } from './progress.js';
import { cloneTrackerConfig, type ProgressMap, type ProgressTracker, type TrackerConfig } from './tracker.js';
import { logIndex, NONE, type ConfState, type LogIndex, type NodeId } from './types.js';

export const ConfChangeType = {
  AddNode: 'add-node',
  AddLearnerNode: 'add-learner',
  RemoveNode: 'remove-node',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export const ConfChangeTransition = {
  /** Auto: one change is applied directly; several go through a joint config left automatically. */
  Auto: 'auto',
  /** JointImplicit: always joint, left automatically once applied. */
  JointImplicit: 'joint-implicit',
  /** JointExplicit: always joint, left only by an explicit empty ConfChange. */
  JointExplicit: 'joint-explicit',
} as const;
export type ConfChangeTransition = (typeof ConfChangeTransition)[keyof typeof ConfChangeTransition];

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * ConfChange is a membership change proposal. An empty `changes` list with
 * the Auto transition means "leave the joint configuration".
 */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  /** context is opaque application data (e.g. the new member's address). */
  readonly context: string;
}

export const leaveJointConfChange: ConfChange = { transition: 'auto', changes: [], context: '' };

/**
 * isLeaveJoint: does this change mean "leave the joint configuration"? The context does not
 * matter (as in etcd-io/raft's ConfChangeV2.LeaveJoint): an application that tags its proposals
 * (RaftNode does, to answer the proposer) must be able to leave a joint-explicit configuration.
 */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0 && cc.transition === 'auto';
}

/** enterJoint returns whether the change needs a joint configuration, and if it leaves it automatically. */
export function enterJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== 'auto' || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== 'joint-explicit' };
  }
  return { joint: false, autoLeave: false };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** encodeConfChange encodes a ConfChange for a ConfChange log entry. The leave-joint change without context encodes to zero bytes. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (isLeaveJoint(cc) && cc.context === '') return new Uint8Array(0);
  return textEncoder.encode(JSON.stringify({ t: cc.transition, c: cc.changes.map((x) => [x.type, x.nodeId]), x: cc.context }));
}

const transitions = new Set<string>(Object.values(ConfChangeTransition));
const changeTypes = new Set<string>(Object.values(ConfChangeType));

/** decodeConfChange decodes and validates; throws ConfChangeError on malformed data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length === 0) return leaveJointConfChange;
  let raw: unknown;
  try {
    raw = JSON.parse(textDecoder.decode(data));
  } catch {
    throw new ConfChangeError('malformed conf change entry');
  }
  // JSON.parse may return null or a primitive: reject before reading fields.
  if (typeof raw !== 'object' || raw === null) throw new ConfChangeError('malformed conf change entry');
  const o = raw as { t?: unknown; c?: unknown; x?: unknown };
  if (typeof o.t !== 'string' || !transitions.has(o.t) || !Array.isArray(o.c) || typeof o.x !== 'string') {
    throw new ConfChangeError('malformed conf change entry');
  }
  const changes: ConfChangeSingle[] = [];
  for (const c of o.c as unknown[]) {
    if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== 'string' || !changeTypes.has(c[0]) || typeof c[1] !== 'string') {
      throw new ConfChangeError('malformed conf change entry');
    }
    changes.push({ type: c[0] as ConfChangeType, nodeId: c[1] as NodeId });
  }
  return { transition: o.t as ConfChangeTransition, changes, context: o.x };
}

export function describeConfChange(cc: ConfChange): string {
  if (cc.changes.length === 0) return cc.transition === 'auto' ? 'leave-joint' : `${cc.transition}()`;
  const short: Record<ConfChangeType, string> = { 'add-node': 'v', 'add-learner': 'l', 'remove-node': 'r' };
  const s = cc.changes.map((c) => `${short[c.type]}${c.nodeId}`).join(' ');
  return cc.transition === 'auto' ? s : `${cc.transition}(${s})`;
}

/** maxVoters is the largest voter set tabd supports (performance and UI bound, not a Raft limit). */
export const maxVoters = 7;

/**
 * Changer computes the configuration and progress map that result from a
 * change, without touching the tracker it read them from. Every method throws
 * ConfChangeError for changes that are invalid in the current configuration.
 */
export class Changer {
  constructor(
    private readonly tracker: ProgressTracker,
    private readonly lastIndex: LogIndex,
  ) {}

  /** enterJoint applies changes to a copy of the incoming voters, keeping the old ones as outgoing. */
  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): { cfg: TrackerConfig; prs: ProgressMap } {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.voters[1].size > 0) throw new ConfChangeError('config is already joint');
    if (cfg.voters[0].size === 0) {
      // A zero-voter config cannot become joint: there would be no quorum to commit with.
      throw new ConfChangeError("can't make a zero-voter config joint");
    }
    cfg.voters = [cfg.voters[0], new Set(cfg.voters[0])];
    this.apply(cfg, prs, ccs);
    cfg.autoLeave = autoLeave;
    return checkAndReturn(cfg, prs);
  }

  /** leaveJoint drops the outgoing voters; learnersNext become learners. */
  leaveJoint(): { cfg: TrackerConfig; prs: ProgressMap } {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.voters[1].size === 0) throw new ConfChangeError("can't leave a non-joint config");
    const learners = new Set(cfg.learners);
    for (const id of cfg.learnersNext) {
      learners.add(id);
      prs.get(id)!.isLearner = true;
    }
    for (const id of cfg.voters[1]) {
      if (!cfg.voters[0].has(id) && !learners.has(id)) prs.delete(id);
    }
    cfg.learners = learners;
    cfg.learnersNext = new Set();
    cfg.voters = [cfg.voters[0], new Set()];
    cfg.autoLeave = false;
    return checkAndReturn(cfg, prs);
  }

  /** simple applies changes that move at most one voter, outside joint consensus. */
  simple(ccs: readonly ConfChangeSingle[]): { cfg: TrackerConfig; prs: ProgressMap } {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.voters[1].size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    const before = new Set(cfg.voters[0]);
    this.apply(cfg, prs, ccs);
    if (symDiff(before, cfg.voters[0]) > 1) {
      throw new ConfChangeError('more than one voter changed without entering joint config');
    }
    return checkAndReturn(cfg, prs);
  }

  private apply(cfg: TrackerConfig, prs: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === NONE) continue; // etcd ignores changes of node 0
      switch (cc.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.AddLearnerNode:
          this.makeLearner(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          this.remove(cfg, prs, cc.nodeId);
          break;
      }
    }
    if (cfg.voters[0].size === 0) throw new ConfChangeError('removed all voters');
    if (cfg.voters[0].size > maxVoters) throw new ConfChangeError(`more than ${maxVoters} voters`);
  }

  private makeVoter(cfg: TrackerConfig, prs: ProgressMap, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(cfg, prs, id, false);
      return;
    }
    pr.isLearner = false;
    (cfg.learners as Set<NodeId>).delete(id);
    (cfg.learnersNext as Set<NodeId>).delete(id);
    (cfg.voters[0] as Set<NodeId>).add(id);
  }

  private makeLearner(cfg: TrackerConfig, prs: ProgressMap, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(cfg, prs, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Remove it as a voter first, keeping its progress.
    this.remove(cfg, prs, id);
    prs.set(id, pr);
    // A voter that is still an outgoing voter becomes a learner only when the
    // joint config is left: until then it must keep counting in the old half.
    if (cfg.voters[1].has(id)) {
      (cfg.learnersNext as Set<NodeId>).add(id);
    } else {
      pr.isLearner = true;
      (cfg.learners as Set<NodeId>).add(id);
    }
  }

  private remove(cfg: TrackerConfig, prs: ProgressMap, id: NodeId): void {
    if (!prs.has(id)) return;
    (cfg.voters[0] as Set<NodeId>).delete(id);
    (cfg.learners as Set<NodeId>).delete(id);
    (cfg.learnersNext as Set<NodeId>).delete(id);
    // An outgoing voter keeps its progress until the joint config is left.
    if (!cfg.voters[1].has(id)) prs.delete(id);
  }

  private initProgress(cfg: TrackerConfig, prs: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) (cfg.learners as Set<NodeId>).add(id);
    else (cfg.voters[0] as Set<NodeId>).add(id);
    // Start probing at the last index; the follower's rejection hint moves us back.
    // A new member counts as recently active so CheckQuorum does not trip at once.
    prs.set(
      id,
      new Progress({
        match: logIndex(0),
        next: logIndex(Math.max(this.lastIndex, 1)),
        inflights: this.tracker.newInflights(),
        isLearner,
        recentActive: true,
      }),
    );
  }

  private checkAndCopy(): { cfg: TrackerConfig; prs: ProgressMap } {
    const cfg = cloneTrackerConfig(this.tracker.config);
    const prs: ProgressMap = new Map();
    for (const [id, pr] of this.tracker.progress) prs.set(id, pr.clone());
    checkInvariants(cfg, prs);
    return { cfg, prs };
  }
}

function checkAndReturn(cfg: TrackerConfig, prs: ProgressMap): { cfg: TrackerConfig; prs: ProgressMap } {
  checkInvariants(cfg, prs);
  return { cfg, prs };
}

/** checkInvariants asserts the TrackerConfig invariants; a failure here is a bug. */
export function checkInvariants(cfg: TrackerConfig, prs: ProgressMap): void {
  const all = [...cfg.voters[0], ...cfg.voters[1], ...cfg.learners, ...cfg.learnersNext];
  for (const id of all) assert(prs.has(id), () => `no progress for ${id}`);
  for (const id of cfg.learnersNext) {
    assert(cfg.voters[1].has(id), () => `${id} is in LearnersNext, but not Voters[1]`);
    assert(!prs.get(id)!.isLearner, () => `${id} is in LearnersNext, but is already marked as learner`);
  }
  for (const id of cfg.learners) {
    assert(!cfg.voters[0].has(id) && !cfg.voters[1].has(id), () => `${id} is in Learners and Voters`);
    assert(prs.get(id)!.isLearner, () => `${id} is in Learners, but is not marked as learner`);
  }
  if (cfg.voters[1].size === 0) {
    assert(cfg.learnersNext.size === 0, 'cfg.LearnersNext must be nil when not joint');
    assert(!cfg.autoLeave, 'AutoLeave must be false when not joint');
  }
}

function symDiff(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let n = 0;
  for (const x of a) if (!b.has(x)) n++;
  for (const x of b) if (!a.has(x)) n++;
  return n;
}

/**
 * restoreConfig builds a tracker config and progress map from a ConfState
 * (at start-up or when a snapshot is installed). Validates it, throwing
 * ConfChangeError on an inconsistent ConfState.
 */
export function restoreConfig(
  tracker: ProgressTracker,
  cs: ConfState,
  lastIndex: LogIndex,
): { cfg: TrackerConfig; prs: ProgressMap } {
  const cfg: TrackerConfig = {
    voters: [new Set(cs.voters), new Set(cs.votersOutgoing)],
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
  if (cfg.voters[1].size === 0 && (cfg.learnersNext.size > 0 || cfg.autoLeave)) {
    throw new ConfChangeError('learnersNext and autoLeave require a joint config');
  }
  for (const id of cfg.learners) {
    if (cfg.voters[0].has(id) || cfg.voters[1].has(id)) throw new ConfChangeError(`${id} is a learner and a voter`);
  }
  const prs: ProgressMap = new Map();
  const add = (id: NodeId, isLearner: boolean): void => {
    if (prs.has(id)) return;
    prs.set(
      id,
      new Progress({
        match: logIndex(0),
        next: logIndex(lastIndex + 1),
        inflights: tracker.newInflights(),
        isLearner,
        recentActive: true,
      }),
    );
  };
  for (const id of cfg.voters[0]) add(id, false);
  for (const id of cfg.voters[1]) add(id, false);
  for (const id of cfg.learners) add(id, true);
  for (const id of cfg.learnersNext) add(id, false);
  checkInvariants(cfg, prs);
  return { cfg, prs };
}

/** confStatesEquivalent compares two ConfStates ignoring order. */
export function confStatesEquivalent(a: ConfState, b: ConfState): boolean {
  const eq = (x: readonly NodeId[], y: readonly NodeId[]): boolean =>
    x.length === y.length && [...x].sort().join(',') === [...y].sort().join(',');
  return (
    eq(a.voters, b.voters) &&
    eq(a.learners, b.learners) &&
    eq(a.votersOutgoing, b.votersOutgoing) &&
    eq(a.learnersNext, b.learnersNext) &&
    a.autoLeave === b.autoLeave
  );
}
