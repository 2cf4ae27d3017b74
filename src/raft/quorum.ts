// Quorum math for majority and joint configurations (Raft thesis §4.3).
// Pure functions over sets of ids; no knowledge of progress or messages.
import { logIndex, type LogIndex, type NodeId } from './types.js';

export const VoteResult = {
  /** Pending: the outcome still depends on votes not yet cast. */
  Pending: 'pending',
  Lost: 'lost',
  Won: 'won',
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** MajorityConfig is a set of voters; a decision needs more than half of them. */
export type MajorityConfig = ReadonlySet<NodeId>;

/** JointConfig is [incoming, outgoing]; a decision needs a majority of both. Outgoing is empty outside joint consensus. */
export type JointConfig = readonly [MajorityConfig, MajorityConfig];

/** AckedIndexer returns the highest index a voter is known to have, if known. */
export type AckedIndexer = (id: NodeId) => LogIndex | undefined;

const MAX_INDEX = logIndex(Number.MAX_SAFE_INTEGER);

/**
 * majorityCommittedIndex is the largest index that a majority of `c` has
 * acknowledged. An empty config commits everything (it places no constraint,
 * which is what joint math needs for the empty outgoing half).
 */
export function majorityCommittedIndex(c: MajorityConfig, acked: AckedIndexer): LogIndex {
  const n = c.size;
  if (n === 0) return MAX_INDEX;
  const srt: number[] = [];
  for (const id of c) srt.push(acked(id) ?? 0);
  srt.sort((a, b) => a - b);
  // With n voters, the element at n - (n/2 + 1) in ascending order is held by a majority.
  const pos = n - (Math.floor(n / 2) + 1);
  return logIndex(srt[pos]!);
}

/** majorityVoteResult tallies votes (true = granted) over a majority config. */
export function majorityVoteResult(c: MajorityConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (c.size === 0) return VoteResult.Won;
  let yes = 0;
  let missing = 0;
  for (const id of c) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = Math.floor(c.size / 2) + 1;
  if (yes >= q) return VoteResult.Won;
  if (yes + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** jointCommittedIndex is the minimum of both halves' committed indexes. */
export function jointCommittedIndex(c: JointConfig, acked: AckedIndexer): LogIndex {
  const a = majorityCommittedIndex(c[0], acked);
  const b = majorityCommittedIndex(c[1], acked);
  return a < b ? a : b;
}

/** jointVoteResult: won only if both halves won; lost if either lost. */
export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const r1 = majorityVoteResult(c[0], votes);
  const r2 = majorityVoteResult(c[1], votes);
  if (r1 === r2) return r1;
  if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}

/** jointIds is the union of both halves, sorted. */
export function jointIds(c: JointConfig): NodeId[] {
  const s = new Set<NodeId>([...c[0], ...c[1]]);
  return [...s].sort();
}

export function describeMajority(c: MajorityConfig): string {
  return `(${[...c].sort().join(' ')})`;
}

export function describeJoint(c: JointConfig): string {
  const inc = describeMajority(c[0]);
  return c[1].size > 0 ? `${inc}&&${describeMajority(c[1])}` : inc;
}
