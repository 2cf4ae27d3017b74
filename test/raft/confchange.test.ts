// Membership changes (src/raft/confchange.ts, thesis §4.3): simple changes,
// joint consensus enter/leave, learnersNext for demoted outgoing voters, the
// refusals with their ConfChangeError messages, and the entry codec.
import { describe, expect, it } from 'vitest';
import {
  ConfChangeError,
  ConfChangeType,
  decodeConfChange,
  describeConfChange,
  encodeConfChange,
  emptyConfState,
  isLeaveJoint,
  leaveJointConfChange,
  logIndex,
  maxVoters,
  nodeId,
  type ConfChange,
  type ConfChangeSingle,
  type ConfState,
} from '../../src/raft/index.js';
import { Changer, enterJoint, restoreConfig } from '../../src/raft/confchange.js';
import { ProgressTracker, describeTrackerConfig } from '../../src/raft/tracker.js';
import { enc } from './harness.js';

const v = (id: string): ConfChangeSingle => ({ type: ConfChangeType.AddNode, nodeId: nodeId(id) });
const l = (id: string): ConfChangeSingle => ({
  type: ConfChangeType.AddLearnerNode,
  nodeId: nodeId(id),
});
const r = (id: string): ConfChangeSingle => ({
  type: ConfChangeType.RemoveNode,
  nodeId: nodeId(id),
});

/** tracker builds a ProgressTracker holding a ConfState. */
function tracker(cs: Partial<ConfState> = {}): ProgressTracker {
  const trk = new ProgressTracker(256, 0);
  const { cfg, prs } = restoreConfig(trk, { ...emptyConfState, ...cs } as ConfState, logIndex(10));
  trk.config = cfg;
  trk.progress = prs;
  return trk;
}

/** apply runs changes through a Changer and installs the result; returns its description. */
function apply(
  trk: ProgressTracker,
  how: 'simple' | 'joint' | 'joint-explicit' | 'leave',
  ccs: ConfChangeSingle[] = [],
): string {
  const ch = new Changer(trk, logIndex(10));
  const out =
    how === 'simple'
      ? ch.simple(ccs)
      : how === 'leave'
        ? ch.leaveJoint()
        : ch.enterJoint(how === 'joint', ccs);
  trk.config = out.cfg;
  trk.progress = out.prs;
  return describeTrackerConfig(out.cfg);
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfChangeError);
    expect((err as ConfChangeError).code).toBe('invalid-conf-change');
    return (err as Error).message;
  }
  throw new Error('expected a ConfChangeError');
}

const ids = (...s: string[]) => s.map(nodeId);

describe('simple changes', () => {
  it('add a voter, a learner, promote, demote and remove, one voter at a time', () => {
    const trk = tracker();
    expect(apply(trk, 'simple', [v('1')])).toBe('voters=(1)');
    expect(apply(trk, 'simple', [v('2')])).toBe('voters=(1 2)');
    expect(apply(trk, 'simple', [l('3')])).toBe('voters=(1 2) learners=(3)');
    // Learners and a single voter change may go together.
    expect(apply(trk, 'simple', [v('3'), l('4'), l('5')])).toBe('voters=(1 2 3) learners=(4 5)');
    expect(apply(trk, 'simple', [l('2')])).toBe('voters=(1 3) learners=(2 4 5)');
    expect(apply(trk, 'simple', [r('4'), r('9')])).toBe('voters=(1 3) learners=(2 5)');
    expect(trk.progress.has(nodeId('4'))).toBe(false);
    expect(trk.progress.get(nodeId('2'))!.isLearner).toBe(true);
    // A new member is probed from the last index and counts as active (CheckQuorum).
    const pr = trk.progress.get(nodeId('5'))!;
    expect([pr.match, pr.next, pr.recentActive]).toEqual([0, 10, true]);
  });

  it('keeps the progress of a member whose role changes', () => {
    const trk = tracker({ voters: ids('1', '2', '3') });
    trk.progress.get(nodeId('3'))!.maybeUpdate(logIndex(7));
    apply(trk, 'simple', [l('3')]);
    expect(trk.progress.get(nodeId('3'))!.match).toBe(7);
  });

  it('refuses more than one voter change, zero voters, and more than maxVoters', () => {
    const trk = tracker({ voters: ids('1', '2', '3') });
    expect(refusal(() => apply(trk, 'simple', [v('4'), v('5')]))).toBe(
      'more than one voter changed without entering joint config',
    );
    expect(refusal(() => apply(trk, 'simple', [r('1'), v('4')]))).toBe(
      'more than one voter changed without entering joint config',
    );
    expect(refusal(() => apply(tracker({ voters: ids('1') }), 'simple', [r('1')]))).toBe(
      'removed all voters',
    );
    const seven = tracker({ voters: ids('1', '2', '3', '4', '5', '6', '7') });
    expect(maxVoters).toBe(7);
    expect(refusal(() => apply(seven, 'simple', [v('8')]))).toBe('more than 7 voters');
    // The failed attempts changed nothing.
    expect(describeTrackerConfig(trk.config)).toBe('voters=(1 2 3)');
  });
});

describe('joint consensus', () => {
  it('enter joint keeps the old voters as outgoing; leaving drops them', () => {
    const trk = tracker({ voters: ids('1', '2', '3') });
    expect(apply(trk, 'joint', [r('1'), r('2'), v('4'), v('5')])).toBe(
      'voters=(3 4 5)&&(1 2 3) autoleave',
    );
    // Outgoing voters keep their progress until the joint config is left.
    expect(trk.progress.has(nodeId('1'))).toBe(true);
    expect(apply(trk, 'leave')).toBe('voters=(3 4 5)');
    expect(trk.progress.has(nodeId('1'))).toBe(false);
  });

  it('an outgoing voter demoted to learner is in learnersNext until the joint config is left', () => {
    const trk = tracker({ voters: ids('1', '2', '3') });
    expect(apply(trk, 'joint-explicit', [l('3'), v('4')])).toBe(
      'voters=(1 2 4)&&(1 2 3) learners_next=(3)',
    );
    // Still a voter of the outgoing half: it must keep counting there.
    expect(trk.progress.get(nodeId('3'))!.isLearner).toBe(false);
    expect(trk.isVoter(nodeId('3'))).toBe(true);
    expect(apply(trk, 'leave')).toBe('voters=(1 2 4) learners=(3)');
    expect(trk.progress.get(nodeId('3'))!.isLearner).toBe(true);
  });

  it('refuses entering twice, leaving when not joint, simple changes in joint, and zero voters', () => {
    const trk = tracker({ voters: ids('1', '2', '3') });
    expect(refusal(() => apply(trk, 'leave'))).toBe("can't leave a non-joint config");
    apply(trk, 'joint', [v('4')]);
    expect(refusal(() => apply(trk, 'joint', [v('5')]))).toBe('config is already joint');
    expect(refusal(() => apply(trk, 'simple', [v('5')]))).toBe(
      "can't apply simple config change in joint config",
    );
    expect(refusal(() => apply(tracker(), 'joint', [v('1')]))).toBe(
      "can't make a zero-voter config joint",
    );
    expect(
      refusal(() => apply(tracker({ voters: ids('1', '2') }), 'joint', [r('1'), r('2')])),
    ).toBe('removed all voters');
    expect(
      refusal(() =>
        apply(tracker({ voters: ids('1', '2') }), 'joint', ['3', '4', '5', '6', '7', '8'].map(v)),
      ),
    ).toBe('more than 7 voters');
  });

  it('restoreConfig refuses an inconsistent ConfState', () => {
    const bad = (cs: Partial<ConfState>) => () => tracker(cs);
    expect(refusal(bad({ voters: ids('1'), learners: ids('1') }))).toBe(
      '1 is a learner and a voter',
    );
    expect(refusal(bad({ voters: ids('1'), learnersNext: ids('2') }))).toBe(
      'learnersNext and autoLeave require a joint config',
    );
    expect(refusal(bad({ voters: ids('1'), autoLeave: true }))).toBe(
      'learnersNext and autoLeave require a joint config',
    );
  });

  it('enterJoint: several changes or a joint transition need joint consensus', () => {
    const cc = (transition: ConfChange['transition'], changes: ConfChangeSingle[]): ConfChange => ({
      transition,
      changes,
      context: '',
    });
    expect(enterJoint(cc('auto', [v('1')]))).toEqual({ joint: false, autoLeave: false });
    expect(enterJoint(cc('auto', [v('1'), v('2')]))).toEqual({ joint: true, autoLeave: true });
    expect(enterJoint(cc('joint-implicit', [v('1')]))).toEqual({ joint: true, autoLeave: true });
    expect(enterJoint(cc('joint-explicit', [v('1')]))).toEqual({ joint: true, autoLeave: false });
    expect(isLeaveJoint(leaveJointConfChange)).toBe(true);
    expect(isLeaveJoint(cc('joint-explicit', []))).toBe(false);
  });
});

describe('ConfChange codec', () => {
  it.each<ConfChange>([
    { transition: 'auto', changes: [v('1')], context: '' },
    { transition: 'auto', changes: [v('a'), l('b'), r('c')], context: 'ws://peer' },
    { transition: 'joint-explicit', changes: [l('é✓')], context: 'ctx' },
    { transition: 'joint-implicit', changes: [], context: '' },
    leaveJointConfChange,
  ])('round-trips %o', (cc) => {
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });

  it('encodes leave-joint as zero bytes', () => {
    expect(encodeConfChange(leaveJointConfChange)).toHaveLength(0);
    expect(decodeConfChange(new Uint8Array(0))).toEqual(leaveJointConfChange);
    expect(describeConfChange(leaveJointConfChange)).toBe('leave-joint');
    expect(
      describeConfChange({
        transition: 'joint-explicit',
        changes: [v('1'), l('2'), r('3')],
        context: '',
      }),
    ).toBe('joint-explicit(v1 l2 r3)');
  });

  it.each([
    ['not json', enc('{')],
    ['invalid utf-8', new Uint8Array([0xff, 0xfe, 0x7b])],
    ['a bare value', enc('42')],
    ['null', enc('null')],
    ['unknown transition', enc('{"t":"sideways","c":[],"x":""}')],
    ['changes not a list', enc('{"t":"auto","c":{},"x":""}')],
    ['context not a string', enc('{"t":"auto","c":[],"x":1}')],
    ['unknown change type', enc('{"t":"auto","c":[["promote","1"]],"x":""}')],
    ['node id not a string', enc('{"t":"auto","c":[["add-node",1]],"x":""}')],
    ['change of the wrong arity', enc('{"t":"auto","c":[["add-node","1","x"]],"x":""}')],
  ])('refuses malformed data: %s', (_, data) => {
    expect(refusal(() => decodeConfChange(data))).toBe('malformed conf change entry');
  });
});
