// assembleLoadedState is where load() decides whether stored records can be trusted: each check
// here is one kind of damage, and the error must name the record to look at.
import { describe, expect, test } from 'vitest';
import type { Entry } from '../../src/raft/index.js';
import { StorageCorruptionError } from '../../src/storage/errors.js';
import { encodedSegmentBytes } from '../../src/storage/record-codec.js';
import {
  assembleLoadedState,
  type StoredRecords,
  type StoredSegment,
} from '../../src/storage/segment-log.js';
import { ent, ents, hs, snap } from './durable-storage-contract.js';

const seg = (from: number, to: number, t: number): StoredSegment => stored(from, ents(from, to, t));
const stored = (key: number, entries: Entry[]): StoredSegment => ({
  key,
  entries,
  bytes: encodedSegmentBytes(entries),
});

function corrupt(records: StoredRecords): string {
  try {
    assembleLoadedState(records);
  } catch (e) {
    expect(e).toBeInstanceOf(StorageCorruptionError);
    return (e as Error).message;
  }
  throw new Error('expected StorageCorruptionError');
}

describe('assembleLoadedState', () => {
  test('a healthy log: entries after the snapshot, shape with every segment', () => {
    const { state, shape } = assembleLoadedState({
      hardState: hs(2, 9),
      snapshot: snap(5, 1),
      segments: [seg(4, 6, 1), seg(7, 8, 2), seg(9, 9, 2)],
    });
    expect(state.entries.map((e) => e.index)).toEqual([6, 7, 8, 9]);
    expect(shape.spans.map((s) => [s.firstIndex, s.lastIndex])).toEqual([
      [4, 6],
      [7, 8],
      [9, 9],
    ]);
    expect(shape.snapshotIndex).toBe(5);
  });

  test('a gap between segments names the later segment', () => {
    expect(
      corrupt({ hardState: hs(1, 1), snapshot: undefined, segments: [seg(1, 3, 1), seg(5, 6, 1)] }),
    ).toBe('segments[5]: leaves a gap after segments[1], which ends at 3');
  });

  test('overlapping segments', () => {
    expect(
      corrupt({ hardState: hs(1, 1), snapshot: undefined, segments: [seg(1, 3, 1), seg(3, 6, 1)] }),
    ).toBe('segments[3]: overlaps segments[1], which ends at 3');
  });

  test('a segment stored under another key', () => {
    expect(
      corrupt({ hardState: hs(1, 1), snapshot: undefined, segments: [stored(1, ents(2, 3, 1))] }),
    ).toMatch(/^segments\[1\]: stored under key 1 but starts at index 2/);
  });

  test('a log that starts after the snapshot, or ends before it', () => {
    expect(
      corrupt({ hardState: hs(1, 5), snapshot: snap(5, 1), segments: [seg(7, 8, 1)] }),
    ).toMatch(/^segments\[7\]: gap/);
    expect(
      corrupt({ hardState: hs(1, 5), snapshot: snap(5, 1), segments: [seg(1, 3, 1)] }),
    ).toMatch(/^segments\[1\]: the log ends at 3, before the snapshot at 5/);
  });

  test('terms that decrease, and an entry at the snapshot index with another term', () => {
    expect(
      corrupt({ hardState: hs(3, 1), snapshot: undefined, segments: [seg(1, 2, 3), seg(3, 3, 2)] }),
    ).toMatch(/^segments\[3\]: term decreases at entry 3 \(2 after 3\)/);
    expect(
      corrupt({ hardState: hs(3, 5), snapshot: snap(5, 2), segments: [seg(4, 6, 3)] }),
    ).toMatch(/^segments\[4\]: entry 5 has term 3 but snapshot\[latest\] has term 2/);
    expect(
      corrupt({ hardState: hs(3, 5), snapshot: snap(5, 2), segments: [stored(6, [ent(6, 1)])] }),
    ).toMatch(/term decreases at entry 6/);
  });

  test('a hard state commit outside [snapshot index, last index], or a term below the log', () => {
    expect(corrupt({ hardState: hs(1, 4), snapshot: undefined, segments: [seg(1, 3, 1)] })).toBe(
      'meta[hardState]: commit 4 is beyond the last index 3',
    );
    expect(corrupt({ hardState: hs(1, 1), snapshot: snap(2, 1), segments: [] })).toBe(
      'meta[hardState]: commit 1 is before the snapshot index 2',
    );
    expect(corrupt({ hardState: undefined, snapshot: undefined, segments: [seg(1, 1, 1)] })).toBe(
      'meta[hardState]: term 0 is below the last log term 1',
    );
  });
});
