// MemoryStorage (src/raft/storage.ts): the stable log with a dummy entry at
// the snapshot index, compaction, snapshots, appends that truncate, and the
// typed errors for compacted / unavailable / out-of-date requests.
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  CompactedError,
  MemoryStorage,
  SnapshotOutOfDateError,
  UnavailableError,
  emptyConfState,
  logIndex,
  nodeId,
  term,
  type Entry,
} from '../../src/raft/index.js';
import { dec, enc } from './harness.js';

const e = (index: number, t: number, data = ''): Entry => ({
  index: logIndex(index),
  term: term(t),
  type: 'normal',
  data: enc(data),
});
const cs = { ...emptyConfState, voters: [nodeId('1'), nodeId('2')] };

/** storage345 holds a snapshot at (3, 3) and entries (4, 4), (5, 5), like etcd's storage tests. */
function storage345(data = ''): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({
    metadata: { index: logIndex(3), term: term(3), confState: cs },
    data: enc('snap'),
  });
  s.append([e(4, 4, data), e(5, 5, data)]);
  return s;
}
const terms = (s: MemoryStorage): number[] => {
  const out = [s.term(logIndex(s.firstIndex() - 1))];
  for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(logIndex(i)));
  return out;
};

describe('MemoryStorage', () => {
  it('starts empty: firstIndex 1, lastIndex 0, term(0) = 0', () => {
    const s = new MemoryStorage();
    expect([s.firstIndex(), s.lastIndex(), s.term(logIndex(0))]).toEqual([1, 0, 0]);
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: '', commit: 0 },
      confState: emptyConfState,
    });
  });

  it('term: compacted before the dummy entry, unavailable after the last', () => {
    const s = storage345();
    expect(() => s.term(logIndex(2))).toThrow(CompactedError);
    expect([3, 4, 5].map((i) => s.term(logIndex(i)))).toEqual([3, 4, 5]);
    expect(() => s.term(logIndex(6))).toThrow(UnavailableError);
  });

  it('entries: [lo, hi) within [firstIndex, lastIndex+1], size-limited but at least one', () => {
    const s = storage345('0123456789');
    s.append([e(6, 6, '0123456789')]);
    expect(() => s.entries(logIndex(2), logIndex(6), 1e9)).toThrow(CompactedError);
    expect(() => s.entries(logIndex(3), logIndex(4), 1e9)).toThrow(CompactedError);
    expect(s.entries(logIndex(4), logIndex(5), 1e9).map((x) => x.index)).toEqual([4]);
    expect(s.entries(logIndex(4), logIndex(7), 1e9).map((x) => x.index)).toEqual([4, 5, 6]);
    expect(s.entries(logIndex(4), logIndex(7), 20).map((x) => x.index)).toEqual([4, 5]);
    expect(s.entries(logIndex(4), logIndex(7), 19).map((x) => x.index)).toEqual([4]);
    expect(s.entries(logIndex(4), logIndex(7), 0).map((x) => x.index)).toEqual([4]);
    expect(() => s.entries(logIndex(4), logIndex(8), 1e9)).toThrow(UnavailableError);
  });

  it('compact: the compact index becomes the dummy entry; at or before it is refused', () => {
    const s = storage345();
    expect(() => s.compact(logIndex(2))).toThrow(CompactedError);
    expect(() => s.compact(logIndex(3))).toThrow(CompactedError);
    expect(() => s.compact(logIndex(6))).toThrow(AssertionError);
    s.compact(logIndex(4));
    expect([s.firstIndex(), s.lastIndex(), s.term(logIndex(4)), s.term(logIndex(5))]).toEqual([
      5, 5, 4, 5,
    ]);
    expect(() => s.term(logIndex(3))).toThrow(CompactedError);
    s.compact(logIndex(5));
    expect([s.firstIndex(), s.lastIndex(), s.term(logIndex(5))]).toEqual([6, 5, 5]);
  });

  it('createSnapshot records the term at the index and keeps the log; older snapshots are refused', () => {
    const s = storage345();
    const cs2 = { ...cs, learners: [nodeId('3')] };
    const snap = s.createSnapshot(logIndex(4), cs2, enc('app state'));
    expect(snap.metadata).toEqual({ index: 4, term: 4, confState: cs2 });
    expect(dec(s.snapshot().data)).toBe('app state');
    expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 5]); // compaction is separate
    expect(() => s.createSnapshot(logIndex(4), cs, enc(''))).toThrow(SnapshotOutOfDateError);
    expect(() => s.createSnapshot(logIndex(3), cs, enc(''))).toThrow(SnapshotOutOfDateError);
    expect(() => s.createSnapshot(logIndex(6), cs, enc(''))).toThrow(AssertionError);
    // Without a ConfState the previous one is kept.
    expect(s.createSnapshot(logIndex(5), undefined, enc('')).metadata.confState).toEqual(cs2);
  });

  // Regression: snapshotting an index the log was already compacted past used
  // to fail with a TypeError (reading the term of a discarded entry).
  it('createSnapshot at an index already compacted away is refused with CompactedError', () => {
    const s = new MemoryStorage();
    s.append([1, 2, 3, 4, 5].map((i) => e(i, 1)));
    s.compact(logIndex(4));
    expect(() => s.createSnapshot(logIndex(2), cs, enc(''))).toThrow(CompactedError);
    expect(s.createSnapshot(logIndex(4), cs, enc('')).metadata.index).toBe(4); // the dummy entry still has its term
  });

  it('applySnapshot replaces the whole log; an older or equal snapshot is refused', () => {
    const s = storage345();
    const meta = (i: number, t: number) => ({
      metadata: { index: logIndex(i), term: term(t), confState: cs },
      data: enc(''),
    });
    expect(() => s.applySnapshot(meta(3, 3))).toThrow(SnapshotOutOfDateError);
    expect(() => s.applySnapshot(meta(2, 2))).toThrow(SnapshotOutOfDateError);
    s.applySnapshot(meta(10, 7));
    expect([s.firstIndex(), s.lastIndex(), s.term(logIndex(10))]).toEqual([11, 10, 7]);
    expect(s.initialState().confState).toEqual(cs);
  });

  // Append keeps the stable log a prefix-consistent sequence: a conflicting
  // suffix is replaced, entries already compacted are skipped, a gap is a bug.
  it.each([
    {
      add: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
      want: [3, 4, 5],
    },
    {
      add: [
        [3, 3],
        [4, 6],
        [5, 6],
      ],
      want: [3, 6, 6],
    },
    {
      add: [
        [3, 3],
        [4, 4],
        [5, 5],
        [6, 5],
      ],
      want: [3, 4, 5, 5],
    },
    {
      add: [
        [2, 3],
        [3, 3],
        [4, 5],
      ],
      want: [3, 5],
    },
    { add: [[4, 5]], want: [3, 5] },
    { add: [[6, 5]], want: [3, 4, 5, 5] },
    {
      add: [
        [1, 1],
        [2, 2],
      ],
      want: [3, 4, 5],
    },
    { add: [], want: [3, 4, 5] },
  ])('append $add to [dummy(3,3), (4,4), (5,5)] gives terms $want', ({ add, want }) => {
    const s = storage345();
    s.append(add.map(([i, t]) => e(i!, t!)));
    expect(terms(s)).toEqual(want);
  });

  // append works in place (it used to rebuild the array, O(stored entries)
  // per call); what entries() handed out earlier must not change under it.
  it('entries() returns copies that later appends and truncations do not touch', () => {
    const s = storage345();
    const before = s.entries(logIndex(4), logIndex(6), 1e9);
    s.append([e(5, 9), e(6, 9)]);
    s.append([e(7, 9)]);
    expect(before.map((x) => [x.index, x.term])).toEqual([
      [4, 4],
      [5, 5],
    ]);
    expect(terms(s)).toEqual([3, 4, 9, 9, 9]);
  });

  it('append refuses a gap after the last index', () => {
    const s = storage345();
    expect(() => s.append([e(7, 5)])).toThrow(AssertionError);
  });

  it('setHardState is returned by initialState', () => {
    const s = new MemoryStorage();
    const hs = { term: term(3), vote: nodeId('2'), commit: logIndex(0) };
    s.setHardState(hs);
    expect(s.initialState().hardState).toEqual(hs);
  });
});
