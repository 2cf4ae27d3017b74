// MemoryDurableStorage: the shared DurableStorage contract, plus what only the in-memory
// implementation offers (synchronous calls, value copies, crash simulation).
import { describe, expect, test } from 'vitest';
import { logIndex } from '../../src/raft/index.js';
import {
  MemoryDurableStorage,
  SimulatedCrashError,
  StorageClosedError,
  StorageQuotaExceededError,
} from '../../src/storage/index.js';
import { describeDurableStorageContract, ents, hs, snap } from './durable-storage-contract.js';

for (const [label, mergePolicy] of [
  ['default merge policy', undefined],
  ['merging every 3 small segments', { fanIn: 3, smallBytes: 1 << 20 }],
] as const) {
  describeDurableStorageContract(
    `MemoryDurableStorage, ${label}`,
    async () => {
      let storage = new MemoryDurableStorage({ mergePolicy });
      const h = {
        storage,
        async reopen() {
          storage.close();
          storage = storage.reopen();
          h.storage = storage;
          return storage;
        },
        failNextWrite() {
          storage.failNextWrite(new StorageQuotaExceededError('injected by the contract test'));
        },
        async cleanup() {},
      };
      return h;
    },
    { propertyRuns: 300 },
  );
}

describe('MemoryDurableStorage specifics', () => {
  test('every method completes synchronously (returns a value, never a promise)', () => {
    const s = new MemoryDurableStorage();
    expect(s.load()).not.toBeInstanceOf(Promise);
    expect(s.persist({ entries: ents(1, 2, 1), hardState: hs(1, 2) })).toBeUndefined();
    expect(s.saveSnapshot(snap(1, 1), logIndex(1))).toBeUndefined();
    expect(s.close()).toBeUndefined();
  });

  test('crashDuringNextPersist loses that batch entirely and closes the handle; reopen sees the rest', () => {
    const s = new MemoryDurableStorage();
    s.persist({ entries: ents(1, 3, 1), hardState: hs(1, 1) });
    s.crashDuringNextPersist();
    expect(() =>
      s.persist({ snapshot: snap(9, 2), entries: ents(10, 11, 2), hardState: hs(2, 9) }),
    ).toThrow(SimulatedCrashError);
    expect(s.closed).toBe(true);
    expect(() => s.load()).toThrow(StorageClosedError);
    const restarted = s.reopen();
    const state = restarted.load();
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(state.snapshot.metadata.index).toBe(0);
    expect(state.hardState).toEqual(hs(1, 1));
    // The crash was one write only.
    restarted.persist({ entries: ents(4, 4, 1) });
    expect(restarted.load().entries).toHaveLength(4);
  });

  test('crash() closes the handle but keeps everything written', () => {
    const s = new MemoryDurableStorage();
    s.persist({ entries: ents(1, 2, 1), hardState: hs(1, 2) });
    s.crash();
    let err: unknown;
    try {
      s.persist({ entries: ents(3, 3, 1) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageClosedError);
    expect((err as StorageClosedError).reason).toBe('crashed');
    expect(s.reopen().load().entries).toHaveLength(2);
  });

  test('failNextWrite throws the given error once, writes nothing, and leaves the handle open', () => {
    const s = new MemoryDurableStorage();
    s.persist({ entries: ents(1, 2, 1), hardState: hs(1, 2) });
    const quota = new StorageQuotaExceededError('no space');
    s.failNextWrite(quota);
    expect(() => s.saveSnapshot(snap(2, 1), logIndex(2))).toThrow(quota);
    expect(s.closed).toBe(false);
    expect(s.load().snapshot.metadata.index).toBe(0);
    s.saveSnapshot(snap(2, 1), logIndex(2));
    expect(s.load().snapshot.metadata.index).toBe(2);
  });

  test('stored bytes are copies: mutating what was persisted or loaded changes nothing', () => {
    const s = new MemoryDurableStorage();
    const batch = ents(1, 2, 1);
    s.persist({ entries: batch, hardState: hs(1, 2) });
    batch[0]!.data.fill(0);
    const loaded = s.load();
    expect(loaded.entries[0]!.data).toEqual(ents(1, 1, 1)[0]!.data);
    loaded.entries[1]!.data.fill(0);
    expect(s.load().entries[1]!.data).toEqual(ents(2, 2, 1)[0]!.data);
  });

  test('small batches are merged: every fanIn-th small persist rewrites the run as one segment', () => {
    const s = new MemoryDurableStorage();
    for (let i = 1; i <= 100; i++) s.persist({ entries: ents(i, i, 1), hardState: hs(1, i) });
    // [1..32] [33..64] [65..96] 97 98 99 100
    expect(s.segmentCount).toBe(7);
    // A large batch stays a record of its own and ends the run.
    s.persist({ entries: ents(101, 140, 1), hardState: hs(1, 140) });
    expect(s.segmentCount).toBe(8);
    for (let i = 141; i <= 171; i++) s.persist({ entries: ents(i, i, 1) });
    expect(s.segmentCount).toBe(39);
    s.persist({ entries: ents(172, 172, 1) });
    expect(s.segmentCount).toBe(9);
    // A batch of fanIn entries is not small, even right after a full run of small ones.
    for (let i = 173; i <= 203; i++) s.persist({ entries: ents(i, i, 1) });
    s.persist({ entries: ents(204, 235, 1) });
    expect(s.segmentCount).toBe(41);
    // So is a single entry of smallBytes or more.
    for (let i = 236; i <= 266; i++) s.persist({ entries: ents(i, i, 1) });
    s.persist({ entries: [{ ...ents(267, 267, 1)[0]!, data: new Uint8Array(4096) }] });
    expect(s.segmentCount).toBe(73);
    // ...and a run to merge never includes it: 31 more singles after it are not merged.
    for (let i = 268; i <= 298; i++) s.persist({ entries: ents(i, i, 1) });
    expect(s.segmentCount).toBe(104);
    const state = s.load();
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 298 }, (_, i) => i + 1));
  });

  test('a merge policy below fan-in 2 keeps one segment per batch', () => {
    const s = new MemoryDurableStorage({ mergePolicy: { fanIn: 1, smallBytes: 1 << 20 } });
    for (let i = 1; i <= 50; i++) s.persist({ entries: ents(i, i, 1), hardState: hs(1, i) });
    expect(s.segmentCount).toBe(50);
  });

  test('writeCount counts writes that changed something, across reopened handles', () => {
    const s = new MemoryDurableStorage();
    s.persist({ entries: [] });
    expect(s.writeCount).toBe(0);
    s.persist({ entries: ents(1, 1, 1), hardState: hs(1, 1) });
    const r = s.reopen();
    r.saveSnapshot(snap(1, 1), logIndex(1));
    r.saveSnapshot(snap(1, 1), logIndex(1)); // not newer: ignored
    expect(r.writeCount).toBe(2);
    expect(s.writeCount).toBe(2);
  });
});
