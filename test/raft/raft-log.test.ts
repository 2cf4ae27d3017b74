// RaftLog (src/raft/raft-log.ts) and its unstable tail (log-unstable.ts):
// conflicts, truncation, the backtracking hint, commit/apply bounds, slices
// across the stable/unstable boundary with size limits, and compaction.
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  CompactedError,
  MemoryStorage,
  emptyConfState,
  logIndex,
  term,
  type Entry,
} from '../../src/raft/index.js';
import { Unstable } from '../../src/raft/log-unstable.js';
import { RaftLog } from '../../src/raft/raft-log.js';
import { enc } from './harness.js';

const li = logIndex;
const e = (index: number, t: number, data = ''): Entry => ({
  index: li(index),
  term: term(t),
  type: 'normal',
  data: enc(data),
});
const es = (...pairs: Array<[number, number]>): Entry[] => pairs.map(([i, t]) => e(i, t));
const idx = (xs: readonly Entry[]): number[] => xs.map((x) => x.index);
const BIG = Number.MAX_SAFE_INTEGER;

/** logWith builds a RaftLog whose unstable part holds entries with these terms (from index 1). */
function logWith(terms: number[], maxNext = BIG): RaftLog {
  const l = new RaftLog(new MemoryStorage(), maxNext);
  l.append(terms.map((t, i) => e(i + 1, t)));
  return l;
}
const termsOf = (l: RaftLog): number[] => l.allEntries().map((x) => x.term);

describe('Unstable', () => {
  const snap = (i: number, t: number) => ({
    metadata: { index: li(i), term: term(t), confState: emptyConfState },
    data: enc(''),
  });

  it('reports first/last/term from its entries and pending snapshot', () => {
    const u = new Unstable(li(5));
    expect([u.maybeFirstIndex(), u.maybeLastIndex(), u.maybeTerm(li(5))]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    u.truncateAndAppend(es([5, 1], [6, 2]));
    expect([
      u.maybeFirstIndex(),
      u.maybeLastIndex(),
      u.maybeTerm(li(6)),
      u.maybeTerm(li(7)),
      u.maybeTerm(li(4)),
    ]).toEqual([undefined, 6, 2, undefined, undefined]);
    const s = new Unstable(li(1));
    s.restore(snap(4, 3));
    expect([
      s.maybeFirstIndex(),
      s.maybeLastIndex(),
      s.maybeTerm(li(4)),
      s.maybeTerm(li(3)),
      s.offset,
    ]).toEqual([5, 4, 3, undefined, 5]);
    s.stableSnapTo(li(3));
    expect(s.snapshot).toBeDefined();
    s.stableSnapTo(li(4));
    expect(s.snapshot).toBeUndefined();
  });

  it.each([
    { ents: [[5, 1]], to: [5, 1], offset: 6, left: 0 },
    { ents: [[5, 1]], to: [5, 2], offset: 5, left: 1 }, // the entry at 5 was replaced meanwhile
    { ents: [[5, 1]], to: [4, 1], offset: 5, left: 1 }, // not ours
    {
      ents: [
        [5, 1],
        [6, 1],
      ],
      to: [5, 1],
      offset: 6,
      left: 1,
    },
    {
      ents: [
        [5, 1],
        [6, 2],
      ],
      to: [6, 1],
      offset: 5,
      left: 2,
    },
  ] as const)(
    'stableTo $to with entries $ents leaves offset $offset and $left entries',
    ({ ents, to, offset, left }) => {
      const u = new Unstable(li(5));
      u.truncateAndAppend(ents.map(([i, t]) => e(i, t)));
      u.stableTo(li(to[0]), term(to[1]));
      expect([u.offset, u.entries.length]).toEqual([offset, left]);
    },
  );

  it('stableTo ignores the pending snapshot index', () => {
    const u = new Unstable(li(1));
    u.restore(snap(4, 1));
    u.truncateAndAppend(es([5, 1]));
    u.stableTo(li(4), term(1));
    expect([u.offset, u.entries.length]).toEqual([5, 1]);
  });

  it.each([
    {
      base: [[5, 1]],
      add: [
        [6, 1],
        [7, 1],
      ],
      offset: 5,
      want: [
        [5, 1],
        [6, 1],
        [7, 1],
      ],
    }, // append at the end
    {
      base: [[5, 1]],
      add: [
        [5, 2],
        [6, 2],
      ],
      offset: 5,
      want: [
        [5, 2],
        [6, 2],
      ],
    }, // replace everything
    {
      base: [[5, 1]],
      add: [
        [4, 2],
        [5, 2],
        [6, 2],
      ],
      offset: 4,
      want: [
        [4, 2],
        [5, 2],
        [6, 2],
      ],
    }, // start earlier
    {
      base: [
        [5, 1],
        [6, 1],
        [7, 1],
      ],
      add: [[6, 2]],
      offset: 5,
      want: [
        [5, 1],
        [6, 2],
      ],
    }, // truncate, then append
  ] as Array<{
    base: Array<[number, number]>;
    add: Array<[number, number]>;
    offset: number;
    want: Array<[number, number]>;
  }>)('truncateAndAppend $add onto $base', ({ base, add, offset, want }) => {
    const u = new Unstable(li(5));
    u.truncateAndAppend(es(...base));
    u.truncateAndAppend(es(...add));
    expect(u.offset).toBe(offset);
    expect(u.entries.map((x) => [x.index, x.term])).toEqual(want);
  });

  // truncateAndAppend appends in place; slices handed out before must not change.
  it('slices and unstableEntries() are copies that later appends do not touch', () => {
    const u = new Unstable(li(5));
    u.truncateAndAppend(es([5, 1], [6, 1]));
    const before = u.slice(li(5), li(7));
    const log = logWith([1, 1]);
    const ready = log.unstableEntries();
    u.truncateAndAppend(es([7, 1]));
    u.truncateAndAppend(es([6, 2]));
    log.append(es([3, 1]));
    expect(before.map((x) => [x.index, x.term])).toEqual([
      [5, 1],
      [6, 1],
    ]);
    expect(idx(ready)).toEqual([1, 2]);
    expect(u.entries.map((x) => [x.index, x.term])).toEqual([
      [5, 1],
      [6, 2],
    ]);
  });

  it('slice is bounded by [offset, offset + len]', () => {
    const u = new Unstable(li(5));
    u.truncateAndAppend(es([5, 1], [6, 1]));
    expect(idx(u.slice(li(5), li(7)))).toEqual([5, 6]);
    expect(idx(u.slice(li(6), li(6)))).toEqual([]);
    expect(() => u.slice(li(4), li(6))).toThrow(AssertionError);
    expect(() => u.slice(li(5), li(8))).toThrow(AssertionError);
    expect(() => u.slice(li(6), li(5))).toThrow(AssertionError);
  });
});

describe('RaftLog', () => {
  it('starts at the storage snapshot: committed = applied = firstIndex - 1', () => {
    const s = new MemoryStorage();
    s.applySnapshot({
      metadata: { index: li(3), term: term(3), confState: emptyConfState },
      data: enc(''),
    });
    s.append(es([4, 4], [5, 5]));
    const l = new RaftLog(s, BIG);
    expect([
      l.firstIndex(),
      l.lastIndex(),
      l.committed,
      l.applied,
      l.lastTerm(),
      l.unstable.offset,
    ]).toEqual([4, 5, 3, 3, 5, 6]);
  });

  it.each([
    { ents: [], want: 0 },
    {
      ents: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      want: 0,
    },
    {
      ents: [
        [2, 2],
        [3, 3],
      ],
      want: 0,
    },
    { ents: [[3, 3]], want: 0 },
    {
      ents: [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 4],
      ],
      want: 4,
    },
    {
      ents: [
        [2, 2],
        [3, 3],
        [4, 4],
      ],
      want: 4,
    },
    {
      ents: [
        [4, 4],
        [5, 4],
      ],
      want: 4,
    },
    {
      ents: [
        [1, 4],
        [2, 4],
      ],
      want: 1,
    },
    {
      ents: [
        [2, 1],
        [3, 4],
        [4, 4],
      ],
      want: 2,
    },
    {
      ents: [
        [3, 1],
        [4, 2],
        [5, 4],
      ],
      want: 3,
    },
  ] as Array<{ ents: Array<[number, number]>; want: number }>)(
    'findConflict of $ents in [1, 2, 3] is $want',
    ({ ents, want }) => {
      expect(logWith([1, 2, 3]).findConflict(es(...ents))).toBe(want);
    },
  );

  // The hint for fast backtracking: the largest index ≤ i whose term is ≤ t.
  it.each([
    { i: 7, t: 5, want: [7, 5] },
    { i: 7, t: 6, want: [7, 5] },
    { i: 7, t: 4, want: [5, 3] },
    { i: 7, t: 3, want: [5, 3] },
    { i: 7, t: 2, want: [2, 1] },
    { i: 7, t: 0, want: [0, 0] },
    { i: 4, t: 1, want: [2, 1] },
    { i: 2, t: 3, want: [2, 1] },
    { i: 0, t: 9, want: [0, 0] },
    { i: 9, t: 5, want: [9, 0] }, // beyond the log: unknown term
  ])('findConflictByTerm($i, $t) on [1,1,3,3,3,5,5] is $want', ({ i, t, want }) => {
    const h = logWith([1, 1, 3, 3, 3, 5, 5]).findConflictByTerm(li(i), term(t));
    expect([h.index, h.term]).toEqual(want);
  });

  it('findConflictByTerm stops at the compaction point with term 0', () => {
    const s = new MemoryStorage();
    s.applySnapshot({
      metadata: { index: li(3), term: term(3), confState: emptyConfState },
      data: enc(''),
    });
    s.append(es([4, 4], [5, 5]));
    const l = new RaftLog(s, BIG);
    expect(l.findConflictByTerm(li(5), term(3))).toEqual({ index: 3, term: 3 });
    expect(l.findConflictByTerm(li(5), term(2))).toEqual({ index: 2, term: 0 });
  });

  // maybeAppend on log [1, 2, 3] with committed 1.
  it.each([
    { prev: [3, 2], commit: 3, ents: [], last: undefined, committed: 1, terms: [1, 2, 3] }, // term mismatch
    { prev: [4, 3], commit: 3, ents: [], last: undefined, committed: 1, terms: [1, 2, 3] }, // missing
    { prev: [3, 3], commit: 3, ents: [], last: 3, committed: 3, terms: [1, 2, 3] },
    { prev: [3, 3], commit: 4, ents: [], last: 3, committed: 3, terms: [1, 2, 3] }, // commit clamped to lastNew
    { prev: [3, 3], commit: 2, ents: [], last: 3, committed: 2, terms: [1, 2, 3] },
    { prev: [3, 3], commit: 0, ents: [], last: 3, committed: 1, terms: [1, 2, 3] }, // never backwards
    { prev: [3, 3], commit: 3, ents: [[4, 4]], last: 4, committed: 3, terms: [1, 2, 3, 4] },
    { prev: [3, 3], commit: 5, ents: [[4, 4]], last: 4, committed: 4, terms: [1, 2, 3, 4] },
    {
      prev: [3, 3],
      commit: 5,
      ents: [
        [4, 4],
        [5, 4],
      ],
      last: 5,
      committed: 5,
      terms: [1, 2, 3, 4, 4],
    },
    { prev: [2, 2], commit: 3, ents: [[3, 4]], last: 3, committed: 3, terms: [1, 2, 4] }, // truncate at 3
    { prev: [1, 1], commit: 3, ents: [[2, 4]], last: 2, committed: 2, terms: [1, 4] }, // truncate at 2
    {
      prev: [1, 1],
      commit: 1,
      ents: [
        [2, 2],
        [3, 3],
      ],
      last: 3,
      committed: 1,
      terms: [1, 2, 3],
    }, // already present
    { prev: [1, 1], commit: 1, ents: [[2, 2]], last: 2, committed: 1, terms: [1, 2, 3] }, // a prefix: nothing cut
  ] as Array<{
    prev: [number, number];
    commit: number;
    ents: Array<[number, number]>;
    last?: number;
    committed: number;
    terms: number[];
  }>)(
    'maybeAppend after $prev with $ents, commit $commit → $last',
    ({ prev, commit, ents, last, committed, terms }) => {
      const l = logWith([1, 2, 3]);
      l.commitTo(li(1));
      expect(l.maybeAppend(li(prev[0]), term(prev[1]), li(commit), es(...ents))).toBe(last);
      expect(l.committed).toBe(committed);
      expect(termsOf(l)).toEqual(terms);
    },
  );

  it('refuses to overwrite committed entries (a bug: it would break State Machine Safety)', () => {
    const l = logWith([1, 2, 3]);
    l.commitTo(li(2));
    expect(() => l.maybeAppend(li(1), term(1), li(3), es([2, 4]))).toThrow(AssertionError);
    expect(() => l.append(es([2, 4]))).toThrow(AssertionError);
    expect(() => l.commitTo(li(4))).toThrow(AssertionError);
    expect(() => l.appliedTo(li(3))).toThrow(AssertionError);
    l.appliedTo(li(2));
    expect(() => l.appliedTo(li(1))).toThrow(AssertionError);
  });

  it('isUpToDate compares last term, then last index (§5.4.1)', () => {
    const l = logWith([1, 2, 2]);
    expect(l.isUpToDate(li(3), term(2))).toBe(true);
    expect(l.isUpToDate(li(4), term(2))).toBe(true);
    expect(l.isUpToDate(li(2), term(2))).toBe(false);
    expect(l.isUpToDate(li(1), term(3))).toBe(true);
    expect(l.isUpToDate(li(9), term(1))).toBe(false);
  });

  it('term is 0 outside the log and for compacted entries; termOrUndefined says which', () => {
    const s = new MemoryStorage();
    s.append(es([1, 1], [2, 2], [3, 3], [4, 4]));
    s.compact(li(2));
    const l = new RaftLog(s, BIG);
    l.append(es([5, 5]));
    expect([1, 2, 3, 4, 5, 6].map((i) => l.term(li(i)))).toEqual([0, 2, 3, 4, 5, 0]);
    expect([1, 6].map((i) => l.termOrUndefined(li(i)))).toEqual([undefined, undefined]);
    expect(l.matchTerm(li(2), term(2))).toBe(true);
    expect(l.matchTerm(li(1), term(1))).toBe(false);
  });

  // Storage holds 1..5 (compacted through 1), unstable holds 6..8; every entry is 10 bytes.
  function split(maxNext = BIG): RaftLog {
    const s = new MemoryStorage();
    s.append([1, 2, 3, 4, 5].map((i) => e(i, 1, '0123456789')));
    s.compact(li(1));
    const l = new RaftLog(s, maxNext);
    l.append([6, 7, 8].map((i) => e(i, 2, '0123456789')));
    return l;
  }

  it.each([
    { lo: 2, hi: 9, max: BIG, want: [2, 3, 4, 5, 6, 7, 8] },
    { lo: 4, hi: 8, max: 25, want: [4, 5] },
    { lo: 5, hi: 8, max: 25, want: [5, 6] }, // across the boundary
    { lo: 5, hi: 8, max: 30, want: [5, 6, 7] },
    { lo: 6, hi: 9, max: 10, want: [6] },
    { lo: 4, hi: 9, max: 0, want: [4] }, // at least one entry
    { lo: 7, hi: 7, max: BIG, want: [] },
  ])('slice [$lo, $hi) with max $max bytes is $want', ({ lo, hi, max, want }) => {
    expect(idx(split().slice(li(lo), li(hi), max))).toEqual(want);
  });

  it('slice refuses compacted starts (CompactedError) and ranges past the end (a bug)', () => {
    const l = split();
    expect(() => l.slice(li(1), li(3), BIG)).toThrow(CompactedError);
    expect(() => l.entries(li(1), BIG)).toThrow(CompactedError);
    expect(() => l.slice(li(2), li(10), BIG)).toThrow(AssertionError);
    expect(l.entries(li(9), BIG)).toEqual([]);
    expect(idx(l.entries(li(7), BIG))).toEqual([7, 8]);
  });

  it('nextEnts hands out committed, unapplied entries within maxNextEntsSizeBytes', () => {
    const l = split(25);
    expect([l.hasNextEnts(), l.nextEnts()]).toEqual([false, []]);
    l.commitTo(li(7));
    expect(l.hasNextEnts()).toBe(true);
    expect(idx(l.nextEnts())).toEqual([2, 3]);
    l.appliedTo(li(3));
    expect(idx(l.nextEnts())).toEqual([4, 5]);
    l.appliedTo(li(6));
    expect(idx(l.nextEnts())).toEqual([7]);
    l.appliedTo(li(7));
    expect(l.hasNextEnts()).toBe(false);
  });

  it('stableTo moves persisted entries out of the unstable tail', () => {
    const l = split();
    expect(idx(l.unstableEntries())).toEqual([6, 7, 8]);
    l.stableTo(li(7), term(1)); // wrong term: the entry at 7 is not the one persisted
    expect(idx(l.unstableEntries())).toEqual([6, 7, 8]);
    l.stableTo(li(7), term(2));
    expect(idx(l.unstableEntries())).toEqual([8]);
  });

  it('restore installs a snapshot: everything before it is gone, it counts as committed', () => {
    const l = split();
    l.commitTo(li(5));
    l.restore({
      metadata: { index: li(20), term: term(4), confState: emptyConfState },
      data: enc(''),
    });
    expect([
      l.firstIndex(),
      l.lastIndex(),
      l.lastTerm(),
      l.committed,
      l.hasPendingSnapshot(),
    ]).toEqual([21, 20, 4, 20, true]);
    expect(l.snapshot().metadata.index).toBe(20);
    expect(l.hasNextEnts()).toBe(false);
    l.append(es([21, 4]));
    expect(l.lastIndex()).toBe(21);
  });
});
