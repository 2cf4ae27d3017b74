// The DurableStorage contract as tests, run against every implementation: MemoryDurableStorage
// in Node (test/storage/memory-durable-storage.test.ts) and IdbStorage in a real Chromium
// (test/browser/storage-idb.test.ts). Methods may return values or promises; every call here is
// awaited, so one suite serves both.
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  AssertionError,
  EntryType,
  NONE,
  emptyConfState,
  logIndex,
  nodeId,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from '../../src/raft/index.js';
import type {
  DurableStorage,
  LoadedState,
  PersistBatch,
} from '../../src/storage/durable-storage.js';
import { StorageClosedError, StorageError } from '../../src/storage/errors.js';

/** ContractHarness gives the suite one storage and the means to restart and fail it. */
export interface ContractHarness {
  storage: DurableStorage;
  /** reopen closes the current handle (if still open) and opens the same data again. */
  reopen(): Promise<DurableStorage>;
  /**
   * failNextWrite makes the next persist/saveSnapshot fail as a whole after it has started
   * writing (a quota error in both implementations); the handle stays usable.
   */
  failNextWrite(): void;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** propertyRuns: runs of the randomized model test (IndexedDB runs are slower). */
  readonly propertyRuns: number;
}

// ---- builders ----------------------------------------------------------------------------------

const enc = new TextEncoder();

export function ent(
  index: number,
  t: number,
  text = `e${index}t${t}`,
  type: EntryType = EntryType.Normal,
): Entry {
  return { index: logIndex(index), term: term(t), type, data: enc.encode(text) };
}

/** ents builds entries [from, to] all of term t. */
export function ents(from: number, to: number, t: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, t));
  return out;
}

export function hs(t: number, commit: number, vote = 'a'): HardState {
  return { term: term(t), vote: nodeId(vote), commit: logIndex(commit) };
}

export function snap(
  index: number,
  t: number,
  data = `state@${index}`,
  confState: ConfState = threeVoters,
): Snapshot {
  return { metadata: { index: logIndex(index), term: term(t), confState }, data: enc.encode(data) };
}

const threeVoters: ConfState = {
  ...emptyConfState,
  voters: [nodeId('a'), nodeId('b'), nodeId('c')],
};

/** sameBytes compares byte arrays quickly (toEqual walks typed arrays element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** attempt turns a synchronous throw into a rejection, so both kinds of storage are tested alike. */
const attempt = (f: () => unknown): Promise<unknown> => Promise.resolve().then(f);

/** comparable strips a LoadedState to plain values that toEqual compares by content. */
function comparable(s: LoadedState): unknown {
  return {
    hardState: { ...s.hardState },
    snapshot: { metadata: s.snapshot.metadata, data: Array.from(s.snapshot.data) },
    entries: s.entries.map((e) => ({
      index: e.index,
      term: e.term,
      type: e.type,
      data: Array.from(e.data),
    })),
  };
}

/** Model is the naive meaning of the contract: the entries after the snapshot, nothing else. */
interface Model {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

function emptyModel(): Model {
  return {
    hardState: { term: term(0), vote: NONE, commit: logIndex(0) },
    snapshot: {
      metadata: { index: logIndex(0), term: term(0), confState: emptyConfState },
      data: new Uint8Array(0),
    },
    entries: [],
  };
}

function modelPersist(m: Model, b: PersistBatch): void {
  if (b.snapshot) {
    m.snapshot = b.snapshot;
    m.entries = [];
  }
  const after = b.entries.filter((e) => e.index > m.snapshot.metadata.index);
  if (after.length > 0)
    m.entries = m.entries.filter((e) => e.index < after[0]!.index).concat(after);
  // The durable commit index never goes back (saveSnapshot may have raised it).
  if (b.hardState)
    m.hardState = { ...b.hardState, commit: logIndex(Math.max(b.hardState.commit, m.hardState.commit)) };
}

function modelSaveSnapshot(m: Model, s: Snapshot): void {
  if (s.metadata.index <= m.snapshot.metadata.index) return;
  m.snapshot = s;
  m.entries = m.entries.filter((e) => e.index > s.metadata.index);
  // Everything up to the snapshot is committed: a lower durable commit index is raised.
  if (m.hardState.commit < s.metadata.index) m.hardState = { ...m.hardState, commit: s.metadata.index };
}

// ---- the suite ---------------------------------------------------------------------------------

export function describeDurableStorageContract(
  name: string,
  factory: () => Promise<ContractHarness>,
  options: ContractOptions,
): void {
  describe(`DurableStorage contract: ${name}`, () => {
    let harness: ContractHarness | undefined;
    const open = async (): Promise<ContractHarness> => {
      harness = await factory();
      return harness;
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = undefined;
    });

    const load = async (s: DurableStorage) => comparable(await s.load());

    test('a new storage loads the empty state', async () => {
      const h = await open();
      const s = await h.storage.load();
      expect(s.hardState).toEqual({ term: 0, vote: NONE, commit: 0 });
      expect(s.snapshot.metadata.index).toBe(0);
      expect(s.snapshot.metadata.term).toBe(0);
      expect(s.snapshot.metadata.confState).toEqual(emptyConfState);
      expect(s.snapshot.data).toHaveLength(0);
      expect(s.entries).toEqual([]);
    });

    test('persist then load returns the entries and hard state, also after reopening', async () => {
      const h = await open();
      await h.storage.load();
      const batch: PersistBatch = {
        entries: [
          ent(1, 1, 'add a', EntryType.ConfChange),
          ent(2, 1, 'add b', EntryType.ConfChange),
          ent(3, 1, ''),
        ],
        hardState: hs(1, 2, 'a'),
      };
      await h.storage.persist(batch);
      const expected = comparable({
        hardState: batch.hardState!,
        snapshot: emptyModel().snapshot,
        entries: batch.entries,
      });
      expect(await load(h.storage)).toEqual(expected);
      expect(await load(await h.reopen())).toEqual(expected);
    });

    test('batches append in order; the latest hard state wins; a hard-state-only batch keeps the log', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 3, 1), hardState: hs(1, 1) });
      await h.storage.persist({ entries: ents(4, 4, 1) });
      await h.storage.persist({ entries: ents(5, 9, 2), hardState: hs(2, 4, 'b') });
      await h.storage.persist({ entries: [], hardState: hs(3, 9, '') });
      await h.storage.persist({ entries: [] });
      const s = await (await h.reopen()).load();
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 2],
        [6, 2],
        [7, 2],
        [8, 2],
        [9, 2],
      ]);
      expect(s.hardState).toEqual(hs(3, 9, ''));
    });

    test('an append overlapping the last batch replaces the entries from its first index on', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 5, 1), hardState: hs(1, 2) });
      await h.storage.persist({ entries: ents(4, 6, 2), hardState: hs(2, 2) });
      const s = await h.storage.load();
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 2],
        [5, 2],
        [6, 2],
      ]);
      expect(s.entries[3]!.data).toEqual(ent(4, 2).data);
      expect(await load(await h.reopen())).toEqual(comparable(s));
    });

    test('an append overlapping older batches truncates the straddling one and drops later ones', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 3, 1), hardState: hs(1, 2) });
      await h.storage.persist({ entries: ents(4, 6, 1) });
      await h.storage.persist({ entries: ents(7, 9, 1) });
      await h.storage.persist({ entries: ents(5, 5, 2), hardState: hs(2, 2) });
      let s = await (await h.reopen()).load();
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 2],
      ]);
      // The log continues normally after a truncation, and a batch starting exactly at a stored
      // batch's first index replaces that batch.
      await h.storage.persist({ entries: ents(6, 7, 2) });
      await h.storage.persist({ entries: ents(6, 6, 3), hardState: hs(3, 5) });
      s = await (await h.reopen()).load();
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 2],
        [6, 3],
      ]);
      expect(s.hardState).toEqual(hs(3, 5));
    });

    test('a snapshot from the leader replaces the whole log, even entries after its index', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 10, 1), hardState: hs(1, 3) });
      // Entry 8 in our log has term 1; the leader's snapshot says term 2 there: 9 and 10 diverged.
      const s8 = snap(8, 2);
      await h.storage.persist({ snapshot: s8, entries: [], hardState: hs(2, 8) });
      let s = await h.storage.load();
      expect(comparable(s)).toEqual(comparable({ hardState: hs(2, 8), snapshot: s8, entries: [] }));
      // Entries in the same batch as the snapshot, and later ones, follow it.
      await h.storage.persist({
        snapshot: snap(20, 3),
        entries: ents(21, 22, 3),
        hardState: hs(3, 20),
      });
      await h.storage.persist({ entries: ents(23, 23, 3), hardState: hs(3, 23) });
      s = await (await h.reopen()).load();
      expect(s.snapshot.metadata.index).toBe(20);
      expect(s.snapshot.data).toEqual(snap(20, 3).data);
      expect(s.entries.map((e) => e.index)).toEqual([21, 22, 23]);
      expect(s.hardState).toEqual(hs(3, 23));
    });

    test('saveSnapshot keeps the entries after the snapshot and compacts up to compactIndex', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 3, 1), hardState: hs(1, 3) });
      await h.storage.persist({ entries: ents(4, 6, 1), hardState: hs(1, 6) });
      await h.storage.persist({ entries: ents(7, 9, 1), hardState: hs(1, 9) });
      // compactIndex 4 falls inside the second batch: that batch stays whole, load skips to 7.
      await h.storage.saveSnapshot(snap(6, 1), logIndex(4));
      let s = await (await h.reopen()).load();
      expect(s.snapshot.metadata.index).toBe(6);
      expect(s.entries.map((e) => e.index)).toEqual([7, 8, 9]);
      // An entry at the snapshot index is replaced only from its successor on.
      await h.storage.persist({ entries: ents(10, 12, 2), hardState: hs(2, 10) });
      await h.storage.saveSnapshot(snap(10, 2), logIndex(10));
      await h.storage.persist({ entries: ents(11, 11, 3), hardState: hs(3, 10) });
      s = await (await h.reopen()).load();
      expect(s.snapshot.metadata.index).toBe(10);
      expect(s.snapshot.metadata.term).toBe(2);
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([[11, 3]]);
    });

    test('a truncating append after a snapshot with a lagging compactIndex', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 5, 1), hardState: hs(1, 5) });
      await h.storage.persist({ entries: ents(6, 10, 1), hardState: hs(1, 8) });
      await h.storage.saveSnapshot(snap(7, 1), logIndex(3));
      await h.storage.persist({ entries: ents(9, 10, 2), hardState: hs(2, 8) });
      const s = await (await h.reopen()).load();
      expect(s.snapshot.metadata.index).toBe(7);
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([
        [8, 1],
        [9, 2],
        [10, 2],
      ]);
    });

    test('a snapshot no newer than the stored one is ignored by saveSnapshot', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 6, 1), hardState: hs(1, 6) });
      await h.storage.saveSnapshot(snap(5, 1, 'five'), logIndex(5));
      await h.storage.saveSnapshot(snap(4, 1, 'four'), logIndex(4));
      await h.storage.saveSnapshot(snap(5, 1, 'five again'), logIndex(5));
      const s = await h.storage.load();
      expect(new TextDecoder().decode(s.snapshot.data)).toBe('five');
      expect(s.entries.map((e) => e.index)).toEqual([6]);
    });

    test('snapshot metadata round-trips: joint configuration, learners, autoLeave, binary data', async () => {
      const h = await open();
      await h.storage.load();
      const joint: ConfState = {
        voters: [nodeId('a'), nodeId('ü-peer'), nodeId('c')],
        learners: [nodeId('d')],
        votersOutgoing: [nodeId('a'), nodeId('b'), nodeId('c')],
        learnersNext: [nodeId('b')],
        autoLeave: true,
      };
      const data = new Uint8Array(70_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
      const s: Snapshot = {
        metadata: { index: logIndex(42), term: term(7), confState: joint },
        data,
      };
      await h.storage.persist({ snapshot: s, entries: [], hardState: hs(7, 42, 'ü-peer') });
      const loaded = await (await h.reopen()).load();
      expect(loaded.snapshot.metadata).toEqual(s.metadata);
      expect(sameBytes(loaded.snapshot.data, data)).toBe(true);
      expect(loaded.hardState).toEqual(hs(7, 42, 'ü-peer'));
    });

    test('entries of every size and type round-trip byte for byte', async () => {
      const h = await open();
      await h.storage.load();
      const big = new Uint8Array(200_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
      const batch = [
        { index: logIndex(1), term: term(1), type: EntryType.Normal, data: new Uint8Array(0) },
        {
          index: logIndex(2),
          term: term(1),
          type: EntryType.ConfChange,
          data: new Uint8Array([0, 255, 1]),
        },
        { index: logIndex(3), term: term(1), type: EntryType.Normal, data: big },
      ];
      await h.storage.persist({ entries: batch, hardState: hs(1, 0) });
      const s = await (await h.reopen()).load();
      expect(s.entries.map((e) => e.type)).toEqual([
        EntryType.Normal,
        EntryType.ConfChange,
        EntryType.Normal,
      ]);
      expect(s.entries[0]!.data).toHaveLength(0);
      expect(Array.from(s.entries[1]!.data)).toEqual([0, 255, 1]);
      expect(sameBytes(s.entries[2]!.data, big)).toBe(true);
    });

    test('a persist that fails stores nothing of its batch, and the storage stays usable', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 4, 1), hardState: hs(1, 2) });
      await h.storage.persist({ entries: ents(5, 6, 1), hardState: hs(1, 2) });
      const before = await load(h.storage);

      // A batch touching every store: snapshot, entries and hard state.
      h.failNextWrite();
      await expect(
        attempt(() =>
          h.storage.persist({
            snapshot: snap(10, 2),
            entries: ents(11, 12, 2),
            hardState: hs(2, 10),
          }),
        ),
      ).rejects.toBeInstanceOf(StorageError);
      expect(await load(h.storage)).toEqual(before);
      expect(await load(await h.reopen())).toEqual(before);

      // A truncating batch (rewrites a stored batch, deletes a later one).
      h.failNextWrite();
      await expect(
        attempt(() => h.storage.persist({ entries: ents(3, 3, 2), hardState: hs(2, 2) })),
      ).rejects.toBeInstanceOf(StorageError);
      expect(await load(await h.reopen())).toEqual(before);

      // A compaction.
      h.failNextWrite();
      await expect(
        attempt(() => h.storage.saveSnapshot(snap(2, 1), logIndex(2))),
      ).rejects.toBeInstanceOf(StorageError);
      expect(await load(await h.reopen())).toEqual(before);

      // The same batches succeed afterwards.
      await h.storage.persist({ entries: ents(3, 3, 2), hardState: hs(2, 2) });
      await h.storage.saveSnapshot(snap(2, 1), logIndex(2));
      const s = await (await h.reopen()).load();
      expect(s.snapshot.metadata.index).toBe(2);
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([[3, 2]]);
    });

    test('after a failed write the next one continues from what is stored (no load in between)', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 4, 1), hardState: hs(1, 2) });
      // Had the failed truncation been half-remembered, the log would end at 3 and 5 would be a gap.
      h.failNextWrite();
      await expect(
        attempt(() => h.storage.persist({ entries: ents(3, 3, 2), hardState: hs(2, 2) })),
      ).rejects.toBeInstanceOf(StorageError);
      await h.storage.persist({ entries: ents(5, 5, 1), hardState: hs(1, 2) });
      // Likewise a failed snapshot install must not make later appends start after it.
      h.failNextWrite();
      await expect(
        attempt(() =>
          h.storage.persist({ snapshot: snap(20, 3), entries: [], hardState: hs(3, 20) }),
        ),
      ).rejects.toBeInstanceOf(StorageError);
      await h.storage.persist({ entries: ents(6, 6, 1), hardState: hs(1, 6) });
      const s = await (await h.reopen()).load();
      expect(s.snapshot.metadata.index).toBe(0);
      expect(s.entries.map((e) => [e.index, e.term])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 1],
        [6, 1],
      ]);
    });

    test('caller bugs are assertions and change nothing', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 5, 1), hardState: hs(1, 3) });
      await h.storage.saveSnapshot(snap(2, 1), logIndex(2));
      const before = await load(h.storage);
      const bugs: Array<[string, () => unknown]> = [
        ['a gap after the log', () => h.storage.persist({ entries: ents(7, 7, 1) })],
        ['non-contiguous entries', () => h.storage.persist({ entries: [ent(6, 1), ent(8, 1)] })],
        [
          'terms decreasing in a batch',
          () => h.storage.persist({ entries: [ent(6, 2), ent(7, 1)], hardState: hs(2, 3) }),
        ],
        [
          'overwriting a committed entry',
          () => h.storage.persist({ entries: ents(3, 3, 2), hardState: hs(2, 3) }),
        ],
        ['a commit beyond the log', () => h.storage.persist({ entries: [], hardState: hs(1, 6) })],
        [
          'entries of a term above the hard state',
          () => h.storage.persist({ entries: ents(6, 6, 2) }),
        ],
        [
          'an older snapshot from the leader',
          () => h.storage.persist({ snapshot: snap(1, 1), entries: [], hardState: hs(1, 3) }),
        ],
        [
          'a snapshot beyond the log',
          () => h.storage.saveSnapshot(snap(6, 1), logIndex(4)),
        ],
        [
          'a compact index after the snapshot',
          () => h.storage.saveSnapshot(snap(3, 1), logIndex(4)),
        ],
      ];
      for (const [what, bug] of bugs) {
        await expect(attempt(bug), what).rejects.toBeInstanceOf(AssertionError);
      }
      expect(await load(h.storage)).toEqual(before);
      expect(await load(await h.reopen())).toEqual(before);
    });

    test('after close, every operation fails with storage-closed', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.persist({ entries: ents(1, 1, 1), hardState: hs(1, 1) });
      await h.storage.close();
      for (const op of [
        () => h.storage.load(),
        () => h.storage.persist({ entries: ents(2, 2, 1) }),
        () => h.storage.saveSnapshot(snap(1, 1), logIndex(1)),
      ]) {
        const err = await attempt(op).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageClosedError);
        expect((err as StorageClosedError).code).toBe('storage-closed');
      }
      await h.storage.close(); // closing twice is harmless
      expect((await (await h.reopen()).load()).entries).toHaveLength(1);
    });

    test(`randomized: load() always equals the naive model (${options.propertyRuns} runs)`, async () => {
      // Each op is interpreted against the model so that it is something Raft could ask for:
      // appends start after the commit index, terms never decrease, snapshots lie within the
      // commit index (saveSnapshot) or anywhere ahead (a leader's snapshot).
      const op = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat(1000), fc.nat(1000), fc.nat(1000));
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
          const h = await open();
          try {
            let s = h.storage;
            await s.load();
            const m = emptyModel();
            const lastIndex = () =>
              m.entries[m.entries.length - 1]?.index ?? m.snapshot.metadata.index;
            const lastTerm = () =>
              m.entries[m.entries.length - 1]?.term ?? m.snapshot.metadata.term;
            for (const [kind, a, b, c] of ops) {
              const snapIndex = m.snapshot.metadata.index;
              const commit = m.hardState.commit;
              if (kind <= 4) {
                // Append k entries from f, possibly in a new term, possibly advancing commit.
                const lo = Math.max(commit, snapIndex) + 1;
                const f = lo + (a % (lastIndex() + 2 - lo));
                const k = 1 + (b % 4);
                const prevTerm =
                  m.entries.find((e) => e.index === f - 1)?.term ??
                  (f - 1 === snapIndex ? m.snapshot.metadata.term : lastTerm());
                const t = Math.max(m.hardState.term, prevTerm) + (c % 3 === 0 ? 1 : 0);
                const batch: PersistBatch = {
                  entries: Array.from({ length: k }, (_, i) => ent(f + i, t, `${f + i}/${t}/${c}`)),
                  hardState: {
                    term: term(t),
                    vote: m.hardState.vote,
                    commit: logIndex(Math.min(commit + (c % 3), f + k - 1)),
                  },
                };
                await s.persist(batch);
                modelPersist(m, batch);
              } else if (kind === 5) {
                const batch: PersistBatch = {
                  entries: [],
                  hardState: {
                    term: term(m.hardState.term + (a % 2)),
                    vote: nodeId(`v${b % 3}`),
                    commit: logIndex(Math.min(lastIndex(), commit + (c % 4))),
                  },
                };
                await s.persist(batch);
                modelPersist(m, batch);
              } else if (kind === 6) {
                // An application snapshot at or below the last index (above the durable commit
                // index too: the node writes its commit index only along with other changes).
                if (lastIndex() <= snapIndex) continue;
                const i = snapIndex + 1 + (a % (lastIndex() - snapIndex));
                const entTerm = m.entries.find((e) => e.index === i)!.term;
                const compact = b % (i + 1);
                const sn = snap(i, entTerm, `app@${i}/${c}`);
                await s.saveSnapshot(sn, logIndex(compact));
                modelSaveSnapshot(m, sn);
              } else if (kind === 7) {
                // A leader's snapshot ahead of our commit index (Raft installs no other), maybe
                // past our log.
                const from = Math.max(snapIndex, commit);
                const i = from + 1 + (a % (lastIndex() - from + 3));
                const t = Math.max(lastTerm(), m.hardState.term) + (b % 2);
                const batch: PersistBatch = {
                  snapshot: snap(i, t, `leader@${i}/${c}`),
                  entries: c % 2 === 0 ? [] : ents(i + 1, i + 1 + (c % 3), t),
                  hardState: { term: term(t), vote: NONE, commit: logIndex(i) },
                };
                await s.persist(batch);
                modelPersist(m, batch);
              } else {
                s = await h.reopen();
              }
              expect(await load(s)).toEqual(comparable(m));
            }
          } finally {
            await h.cleanup();
            harness = undefined;
          }
        }),
        { numRuns: options.propertyRuns },
      );
    }, 120_000);
  });
}
