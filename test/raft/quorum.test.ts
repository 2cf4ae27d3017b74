// Quorum math (src/raft/quorum.ts): examples, then fast-check properties
// that compare the sorted-position / counting implementations with naive
// brute-force definitions (after etcd-io/raft's quorum quick test).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VoteResult,
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majorityVoteResult,
  type JointConfig,
  type MajorityConfig,
} from '../../src/raft/quorum.js';
import { logIndex, nodeId, type LogIndex, type NodeId } from '../../src/raft/types.js';

const cfg = (...ids: string[]): MajorityConfig => new Set(ids.map(nodeId));
const acks =
  (m: Record<string, number>) =>
  (id: NodeId): LogIndex | undefined =>
    m[id] === undefined ? undefined : logIndex(m[id]);
const votes = (m: Record<string, boolean>): Map<NodeId, boolean> =>
  new Map(Object.entries(m).map(([k, v]) => [nodeId(k), v]));
const MAX = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------- naive models

/** naiveCommitted: the largest index i such that a majority of c acked ≥ i (brute force over candidates). */
function naiveCommitted(c: MajorityConfig, acked: Record<string, number>): number {
  if (c.size === 0) return MAX;
  const q = Math.floor(c.size / 2) + 1;
  let best = 0;
  const candidates = new Set([0, ...[...c].map((id) => acked[id] ?? 0)]);
  for (const i of candidates) {
    const n = [...c].filter((id) => (acked[id] ?? 0) >= i).length;
    if (n >= q && i > best) best = i;
  }
  return best;
}

/** naiveJointCommitted: the largest index both halves' majorities acked (an empty half places no constraint). */
function naiveJointCommitted(c: JointConfig, acked: Record<string, number>): number {
  if (c[0].size === 0 && c[1].size === 0) return MAX;
  const candidates = new Set([0, ...[...c[0], ...c[1]].map((id) => acked[id] ?? 0)]);
  let best = 0;
  for (const i of candidates) {
    const ok = c.every((half) => {
      if (half.size === 0) return true;
      const n = [...half].filter((id) => (acked[id] ?? 0) >= i).length;
      return n >= Math.floor(half.size / 2) + 1;
    });
    if (ok && i > best) best = i;
  }
  return best;
}

/**
 * naiveVote decides by enumerating every way the missing voters could still
 * vote: won if every completion wins, lost if none does, pending otherwise.
 */
function naiveVote(halves: readonly MajorityConfig[], v: ReadonlyMap<NodeId, boolean>): VoteResult {
  const all = [...new Set(halves.flatMap((h) => [...h]))];
  const missing = all.filter((id) => !v.has(id));
  let wins = 0;
  const total = 2 ** missing.length;
  for (let mask = 0; mask < total; mask++) {
    const full = new Map(v);
    missing.forEach((id, i) => full.set(id, (mask & (1 << i)) !== 0));
    const won = halves.every(
      (h) => h.size === 0 || [...h].filter((id) => full.get(id)).length > h.size / 2,
    );
    if (won) wins++;
  }
  if (wins === total) return VoteResult.Won;
  if (wins === 0) return VoteResult.Lost;
  return VoteResult.Pending;
}

// ---------------------------------------------------------------- generators

const idPool = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];
const arbConfig = fc.subarray(idPool, { minLength: 0, maxLength: 7 }).map((ids) => cfg(...ids));
const arbAcked = fc.dictionary(fc.constantFrom(...idPool), fc.integer({ min: 0, max: 12 }), {
  maxKeys: 9,
});
const arbVotes = fc.dictionary(fc.constantFrom(...idPool), fc.boolean(), { maxKeys: 9 });

describe('majority quorum', () => {
  it.each([
    { ids: [], acked: {}, want: MAX },
    { ids: ['1'], acked: { 1: 5 }, want: 5 },
    { ids: ['1'], acked: {}, want: 0 },
    { ids: ['1', '2', '3'], acked: { 1: 5, 2: 3, 3: 1 }, want: 3 },
    { ids: ['1', '2', '3'], acked: { 1: 5, 2: 3 }, want: 3 },
    { ids: ['1', '2', '3'], acked: { 1: 5 }, want: 0 },
    { ids: ['1', '2', '3', '4'], acked: { 1: 4, 2: 3, 3: 2, 4: 1 }, want: 2 },
    { ids: ['1', '2', '3', '4', '5'], acked: { 1: 9, 2: 9, 3: 1, 4: 1, 5: 9 }, want: 9 },
  ] as Array<{ ids: string[]; acked: Record<string, number>; want: number }>)(
    'committedIndex of $ids with $acked is $want',
    ({ ids, acked, want }) => {
      expect(majorityCommittedIndex(cfg(...ids), acks(acked))).toBe(want);
    },
  );

  it.each([
    { ids: [], v: {}, want: VoteResult.Won },
    { ids: ['1'], v: {}, want: VoteResult.Pending },
    { ids: ['1'], v: { 1: false }, want: VoteResult.Lost },
    { ids: ['1', '2', '3'], v: { 1: true, 2: true }, want: VoteResult.Won },
    { ids: ['1', '2', '3'], v: { 1: true, 2: false }, want: VoteResult.Pending },
    { ids: ['1', '2', '3'], v: { 1: false, 2: false }, want: VoteResult.Lost },
    { ids: ['1', '2', '3', '4'], v: { 1: true, 2: true }, want: VoteResult.Pending },
    { ids: ['1', '2', '3', '4'], v: { 1: false, 2: false }, want: VoteResult.Lost },
    // Votes from non-members are ignored.
    { ids: ['1', '2', '3'], v: { 1: true, 8: true, 9: true }, want: VoteResult.Pending },
  ] as Array<{ ids: string[]; v: Record<string, boolean>; want: VoteResult }>)(
    'voteResult of $ids with $v is $want',
    ({ ids, v, want }) => {
      expect(majorityVoteResult(cfg(...ids), votes(v))).toBe(want);
    },
  );

  it('committedIndex equals the brute-force definition', () => {
    fc.assert(
      fc.property(arbConfig, arbAcked, (c, acked) => {
        expect(majorityCommittedIndex(c, acks(acked))).toBe(naiveCommitted(c, acked));
      }),
      { numRuns: 2000 },
    );
  });

  it('voteResult equals deciding over every completion of the missing votes', () => {
    fc.assert(
      fc.property(arbConfig, arbVotes, (c, v) => {
        const m = votes(v);
        expect(majorityVoteResult(c, m)).toBe(naiveVote([c], m));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('joint quorum', () => {
  it('committedIndex is the minimum of both halves; an empty outgoing half places no constraint', () => {
    const joint: JointConfig = [cfg('1', '2', '3'), cfg('3', '4', '5')];
    expect(jointCommittedIndex(joint, acks({ 1: 9, 2: 9, 3: 2, 4: 2, 5: 1 }))).toBe(2);
    expect(jointCommittedIndex([cfg('1', '2', '3'), cfg()], acks({ 1: 9, 2: 9, 3: 2 }))).toBe(9);
    expect(jointCommittedIndex([cfg(), cfg()], acks({}))).toBe(MAX);
  });

  it('voteResult needs both halves: lost if either lost, won only if both won', () => {
    const joint: JointConfig = [cfg('1', '2', '3'), cfg('3', '4', '5')];
    expect(jointVoteResult(joint, votes({ 1: true, 2: true, 3: true, 4: true }))).toBe(
      VoteResult.Won,
    );
    expect(jointVoteResult(joint, votes({ 1: true, 2: true }))).toBe(VoteResult.Pending);
    expect(jointVoteResult(joint, votes({ 1: true, 2: true, 4: false, 5: false }))).toBe(
      VoteResult.Lost,
    );
    expect(jointVoteResult([cfg('1'), cfg()], votes({ 1: true }))).toBe(VoteResult.Won);
  });

  it('committedIndex equals the brute-force definition over both halves', () => {
    fc.assert(
      fc.property(arbConfig, arbConfig, arbAcked, (a, b, acked) => {
        const joint: JointConfig = [a, b];
        expect(jointCommittedIndex(joint, acks(acked))).toBe(naiveJointCommitted(joint, acked));
        // And it is the minimum of the halves.
        const halves = Math.min(
          majorityCommittedIndex(a, acks(acked)),
          majorityCommittedIndex(b, acks(acked)),
        );
        expect(jointCommittedIndex(joint, acks(acked))).toBe(halves);
      }),
      { numRuns: 2000 },
    );
  });

  it('voteResult equals deciding over every completion of the missing votes', () => {
    fc.assert(
      fc.property(arbConfig, arbConfig, arbVotes, (a, b, v) => {
        const m = votes(v);
        expect(jointVoteResult([a, b], m)).toBe(naiveVote([a, b], m));
      }),
      { numRuns: 2000 },
    );
  });
});
