// The checkers on hand-made observations: each fires on exactly what it
// guards, and stays quiet on the legal variants.
import { describe, expect, it } from 'vitest';

import { logIndex, nodeId, term, type Entry, type Term } from '../../src/raft/index.js';
import { SafetyChecker, ViolationKind, type LogView } from './checker.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const e = (index: number, t: number, data = ''): Entry => ({
  index: logIndex(index),
  term: term(t),
  type: 'normal',
  data: enc(data),
});

function view(node: string, entries: Entry[], first = 1): LogView {
  return {
    node: nodeId(node),
    first,
    last: first + entries.length - 1,
    termAt: (i: number): Term | undefined => entries[i - first]?.term,
    entries: () => entries,
  };
}

describe('SafetyChecker', () => {
  it('election safety: a second leader in a term is a violation, the same one again is not', () => {
    const c = new SafetyChecker();
    c.onLeader(1, nodeId('1'), term(2), view('1', []));
    c.onLeader(2, nodeId('1'), term(2), view('1', []));
    c.onLeader(3, nodeId('2'), term(3), view('2', []));
    expect(c.violations).toEqual([]);
    c.onLeader(4, nodeId('3'), term(3), view('3', []));
    expect(c.violations.map((v) => v.kind)).toEqual([ViolationKind.ElectionSafety]);
    expect(c.violations[0]!.message).toContain('term 3: 2 and 3');
  });

  it('log matching: one (index, term) with two contents or two predecessors', () => {
    const c = new SafetyChecker();
    c.onLogEntries(1, nodeId('1'), [e(1, 1, 'a'), e(2, 1, 'b')], 0);
    c.onLogEntries(2, nodeId('2'), [e(2, 1, 'b'), e(3, 2, 'c')], 1);
    expect(c.violations).toEqual([]);
    c.onLogEntries(3, nodeId('3'), [e(2, 1, 'x')], 1);
    c.onLogEntries(4, nodeId('4'), [e(3, 2, 'c')], 3);
    expect(c.violations.map((v) => v.kind)).toEqual([
      ViolationKind.LogMatching,
      ViolationKind.LogMatching,
    ]);
  });

  it('log matching across whole logs: equal at a later index, different before', () => {
    const c = new SafetyChecker();
    c.checkLogs(1, [
      view('1', [e(1, 1, 'a'), e(2, 2, 'b')]),
      view('2', [e(1, 1, 'a'), e(2, 3, 'z')]),
    ]);
    expect(c.violations).toEqual([]);
    c.checkLogs(2, [
      view('1', [e(1, 1, 'a'), e(2, 2, 'b')]),
      view('2', [e(1, 1, 'x'), e(2, 2, 'b')]),
    ]);
    expect(c.violations.map((v) => v.kind)).toEqual([ViolationKind.LogMatching]);
  });

  it('leader completeness: a later leader must hold what was known committed', () => {
    const c = new SafetyChecker();
    c.onCommitKnown(1, nodeId('1'), logIndex(2), term(2), term(3));
    // A leader of an older term need not have it; one of a later term must.
    c.onLeader(2, nodeId('2'), term(2), view('2', [e(1, 1)]));
    c.onLeader(3, nodeId('3'), term(4), view('3', [e(1, 1), e(2, 2)]));
    expect(c.violations).toEqual([]);
    c.onLeader(4, nodeId('4'), term(5), view('4', [e(1, 1), e(2, 3)]));
    expect(c.violations.map((v) => v.kind)).toEqual([ViolationKind.LeaderCompleteness]);
    // Covered by a snapshot (index before the first retained entry) is fine.
    const d = new SafetyChecker();
    d.onCommitKnown(1, nodeId('1'), logIndex(2), term(2), term(3));
    d.onLeader(2, nodeId('2'), term(6), view('2', [e(9, 5)], 9));
    expect(d.violations).toEqual([]);
  });

  it('state machine safety: two entries applied at one index, or two states at one applied index', () => {
    const c = new SafetyChecker();
    c.onApply(1, nodeId('1'), e(1, 1, 'a'), term(1));
    c.onApply(2, nodeId('2'), e(1, 1, 'a'), term(1));
    c.onStateAt(3, nodeId('1'), 1, 'fp-a', 'a', 'applied');
    c.onStateAt(4, nodeId('2'), 1, 'fp-a', 'a', 'snapshot');
    expect(c.violations).toEqual([]);
    c.onApply(5, nodeId('3'), e(1, 2, 'b'), term(2));
    c.onStateAt(6, nodeId('3'), 1, 'fp-b', 'b', 'applied');
    // The entry differs (and so does the term known committed at 1), and so does the state.
    expect(c.violations.map((v) => v.kind)).toEqual([
      ViolationKind.StateMachineSafety,
      ViolationKind.StateMachineSafety,
      ViolationKind.StateMachineSafety,
    ]);
    expect(c.maxApplied).toBe(1);
  });
});
