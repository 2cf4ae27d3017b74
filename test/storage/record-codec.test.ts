import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  EntryType,
  emptyConfState,
  logIndex,
  nodeId,
  term,
  type Entry,
  type Snapshot,
} from '../../src/raft/index.js';
import { crc32 } from '../../src/storage/crc32.js';
import { StorageCorruptionError, StorageUnsupportedFormatError } from '../../src/storage/errors.js';
import {
  FORMAT_VERSION,
  decodeFormat,
  decodeHardState,
  decodeSegment,
  decodeSnapshot,
  encodeFormat,
  encodeHardState,
  encodeSegment,
  encodeSnapshot,
} from '../../src/storage/record-codec.js';

const MAX_U53 = Number.MAX_SAFE_INTEGER;

const entriesArb = fc
  .tuple(
    fc.integer({ min: 1, max: MAX_U53 - 100 }),
    fc.array(
      fc.record({
        term: fc.integer({ min: 0, max: MAX_U53 }),
        type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
        data: fc.uint8Array({ maxLength: 64 }),
      }),
      { minLength: 1, maxLength: 20 },
    ),
  )
  .map(([first, es]) =>
    es.map((e, i): Entry => ({ ...e, term: term(e.term), index: logIndex(first + i) })),
  );

const idArb = fc.string({ unit: 'binary', maxLength: 12 }).map(nodeId);

const snapshotArb = fc.record({
  index: fc.integer({ min: 1, max: MAX_U53 }),
  term: fc.integer({ min: 0, max: MAX_U53 }),
  voters: fc.array(idArb, { maxLength: 5 }),
  learners: fc.array(idArb, { maxLength: 3 }),
  votersOutgoing: fc.array(idArb, { maxLength: 5 }),
  learnersNext: fc.array(idArb, { maxLength: 3 }),
  autoLeave: fc.boolean(),
  data: fc.uint8Array({ maxLength: 200 }),
});

/** withCrc rewrites a record's trailing checksum after a deliberate edit, so decoding gets past it. */
function withCrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out, 0, out.length - 4), true);
  return out;
}

function corruption(f: () => unknown): StorageCorruptionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StorageCorruptionError);
    return e as StorageCorruptionError;
  }
  throw new Error('expected StorageCorruptionError, nothing was thrown');
}

describe('record codec', () => {
  test('segments round-trip: indexes, terms up to 2^53-1, types and bytes', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const decoded = decodeSegment(encodeSegment(entries), 'segments[x]');
        expect(decoded.firstIndex).toBe(entries[0]!.index);
        expect(decoded.entries.map((e) => ({ ...e, data: Array.from(e.data) }))).toEqual(
          entries.map((e) => ({ ...e, data: Array.from(e.data) })),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('hard states round-trip, including the empty vote and non-ASCII ids', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), idArb, (t, c, vote) => {
        const hs = { term: term(t), commit: logIndex(c), vote };
        expect(decodeHardState(encodeHardState(hs), 'meta[hardState]')).toEqual(hs);
      }),
    );
    const hs = { term: term(MAX_U53), commit: logIndex(0), vote: nodeId('') };
    expect(decodeHardState(encodeHardState(hs), 'meta[hardState]')).toEqual(hs);
  });

  test('snapshots round-trip with their configuration', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const snap: Snapshot = {
          metadata: {
            index: logIndex(s.index),
            term: term(s.term),
            confState: {
              voters: s.voters,
              learners: s.learners,
              votersOutgoing: s.votersOutgoing,
              learnersNext: s.learnersNext,
              autoLeave: s.autoLeave,
            },
          },
          data: s.data,
        };
        const back = decodeSnapshot(encodeSnapshot(snap), 'snapshot[latest]');
        expect(back.metadata).toEqual(snap.metadata);
        expect(Array.from(back.data)).toEqual(Array.from(snap.data));
      }),
    );
  });

  test('the format record carries the format version', () => {
    expect(decodeFormat(encodeFormat(), 'meta[format]')).toBe(FORMAT_VERSION);
  });

  test('a flipped bit anywhere in a record is a checksum mismatch naming the record', () => {
    const record = encodeSegment([
      {
        index: logIndex(1201),
        term: term(3),
        type: EntryType.Normal,
        data: new TextEncoder().encode('put a=1'),
      },
      {
        index: logIndex(1202),
        term: term(3),
        type: EntryType.ConfChange,
        data: new Uint8Array([1, 2]),
      },
    ]);
    for (let bit = 0; bit < record.length * 8; bit++) {
      const bad = record.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      const err = corruption(() => decodeSegment(bad, 'segments[1201]'));
      expect(err.message).toMatch(/^segments\[1201\]: checksum mismatch/);
      expect(err.location).toBe('segments[1201]');
    }
  });

  test('truncated, empty, foreign and mistyped records are corruption', () => {
    const seg = encodeSegment([
      { index: logIndex(5), term: term(1), type: EntryType.Normal, data: new Uint8Array(3) },
    ]);
    expect(corruption(() => decodeSegment(seg.subarray(0, seg.length - 1), 's')).message).toMatch(
      /checksum/,
    );
    expect(corruption(() => decodeSegment(new Uint8Array(3), 's')).message).toMatch(/too short/);
    expect(
      corruption(() => decodeSegment('not bytes' as unknown as Uint8Array, 's')).message,
    ).toMatch(/Uint8Array/);
    // A valid hard state record is not a segment.
    const hs = encodeHardState({ term: term(1), commit: logIndex(0), vote: nodeId('a') });
    expect(corruption(() => decodeSegment(hs, 's')).message).toMatch(
      /expected a segment record, found kind hardState/,
    );
    // Structure errors behind a valid checksum (a bug or a forged record) are still caught.
    const badMagic = seg.slice();
    badMagic[0] = 0;
    expect(corruption(() => decodeSegment(withCrc(badMagic), 's')).message).toMatch(/magic/);
    const badType = seg.slice();
    badType[8 + 8 + 4 + 8] = 9; // the first entry's type byte
    expect(corruption(() => decodeSegment(withCrc(badType), 's')).message).toMatch(
      /unknown entry type 9/,
    );
    const hugeCount = seg.slice();
    new DataView(hugeCount.buffer).setUint32(8 + 8, 1000, true);
    expect(corruption(() => decodeSegment(withCrc(hugeCount), 's')).message).toMatch(/truncated/);
    const zeroCount = seg.slice();
    new DataView(zeroCount.buffer).setUint32(8 + 8, 0, true);
    expect(corruption(() => decodeSegment(withCrc(zeroCount), 's')).message).toMatch(
      /empty segment/,
    );
    const padded = new Uint8Array(seg.length + 2);
    padded.set(seg.subarray(0, seg.length - 4));
    expect(corruption(() => decodeSegment(withCrc(padded), 's')).message).toMatch(
      /unexpected bytes/,
    );
    const badUtf8 = encodeHardState({ term: term(1), commit: logIndex(0), vote: nodeId('ab') });
    badUtf8[8 + 16 + 4] = 0xff;
    expect(corruption(() => decodeHardState(withCrc(badUtf8), 'meta[hardState]')).message).toMatch(
      /UTF-8/,
    );
  });

  test('a record from a newer format is reported as unsupported, not as corruption', () => {
    const future = encodeSnapshot({
      metadata: { index: logIndex(1), term: term(1), confState: emptyConfState },
      data: new Uint8Array(0),
    });
    future[5] = FORMAT_VERSION + 1;
    expect(() => decodeSnapshot(withCrc(future), 'snapshot[latest]')).toThrow(
      StorageUnsupportedFormatError,
    );
  });

  test('encoding refuses what it cannot represent (caller bugs)', () => {
    const e = (index: number, t: number): Entry => ({
      index: logIndex(index),
      term: term(t),
      type: EntryType.Normal,
      data: new Uint8Array(0),
    });
    expect(() => encodeSegment([])).toThrow(/at least one/);
    expect(() => encodeSegment([e(1, 1), e(3, 1)])).toThrow(/not contiguous/);
    expect(() => encodeSegment([e(1, -1)])).toThrow(/u53/);
    expect(() => encodeSegment([e(1, 0.5)])).toThrow(/u53/);
  });
});
