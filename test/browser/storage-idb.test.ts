// IdbStorage in a real Chromium with real IndexedDB: the shared DurableStorage contract, then
// what only a browser database can show: corruption on disk found at load, reopening, isolation
// between databases, quota failures, and other tabs upgrading or deleting the database.
import { openDB } from 'idb';
import { afterAll, describe, expect, test } from 'vitest';
import { logIndex, nodeId, type Entry } from '../../src/raft/index.js';
import {
  IdbStorage,
  StorageClosedError,
  StorageCorruptionError,
  StorageQuotaExceededError,
  StorageUnsupportedFormatError,
  type IdbStorageOptions,
  type TabdDbSchema,
} from '../../src/storage/index.js';
import { crc32 } from '../../src/storage/crc32.js';
import { encodeHardState } from '../../src/storage/record-codec.js';
import {
  describeDurableStorageContract,
  ents,
  hs,
  snap,
  type ContractHarness,
} from '../storage/durable-storage-contract.js';

const created = new Set<string>();
function uniqueName(label: string): string {
  const name = IdbStorage.databaseName(`test-${label}`, crypto.randomUUID());
  created.add(name);
  return name;
}

afterAll(async () => {
  for (const name of created) await IdbStorage.destroy(name);
});

for (const [label, mergePolicy] of [
  ['default merge policy', undefined],
  ['merging every 3 small segments', { fanIn: 3, smallBytes: 1 << 20 }],
] as const) {
  describeDurableStorageContract(
    `IdbStorage (real IndexedDB), ${label}`,
    async (): Promise<ContractHarness> => {
      const name = uniqueName('contract');
      let failNext = false;
      const options: IdbStorageOptions = {
        mergePolicy,
        faultInjection: {
          // Fail at the first request that is not a segment write, so the segment writes issued
          // before it in the same transaction must be rolled back.
          beforeWrite(store) {
            if (failNext && store !== 'segments') {
              failNext = false;
              throw new DOMException('injected by the contract test', 'QuotaExceededError');
            }
          },
        },
      };
      const h: ContractHarness = {
        storage: await IdbStorage.open(name, options),
        async reopen() {
          await h.storage.close();
          h.storage = await IdbStorage.open(name, options);
          return h.storage;
        },
        failNextWrite() {
          failNext = true;
        },
        async cleanup() {
          await h.storage.close();
          await IdbStorage.destroy(name);
          created.delete(name);
        },
      };
      return h;
    },
    { propertyRuns: 25 },
  );
}

/** rejection awaits `p` and returns what it rejected with (failing if it resolved). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

/** withRawDb edits a closed IdbStorage database directly, as bit rot or a bug elsewhere would. */
async function withRawDb(
  name: string,
  edit: (db: import('idb').IDBPDatabase<TabdDbSchema>) => Promise<void>,
): Promise<void> {
  const db = await openDB<TabdDbSchema>(name);
  try {
    await edit(db);
  } finally {
    db.close();
  }
}

/** filled makes a three-segment log (keys 1, 4, 7) with a snapshot at 2 and commit 8, then closes it. */
async function filled(name: string): Promise<void> {
  const s = await IdbStorage.open(name);
  await s.load();
  await s.persist({ entries: ents(1, 3, 1), hardState: hs(1, 3) });
  await s.persist({ entries: ents(4, 6, 1), hardState: hs(1, 6) });
  await s.persist({ entries: ents(7, 9, 2), hardState: hs(2, 8) });
  await s.saveSnapshot(snap(2, 1), logIndex(0));
  await s.close();
}

async function loadError(name: string): Promise<StorageCorruptionError> {
  const s = await IdbStorage.open(name);
  try {
    const err = await rejection(s.load());
    expect(err).toBeInstanceOf(StorageCorruptionError);
    expect((err as StorageCorruptionError).code).toBe('storage-corrupt');
    return err as StorageCorruptionError;
  } finally {
    await s.close();
  }
}

describe('IdbStorage: integrity at load', () => {
  test('a flipped byte in a segment is a checksum mismatch naming segments[key]', async () => {
    const name = uniqueName('corrupt-seg');
    await filled(name);
    await withRawDb(name, async (db) => {
      const rec = (await db.get('segments', 4))!;
      const bytes = rec.bytes.slice();
      bytes[30]! ^= 0x10;
      await db.put('segments', { ...rec, bytes });
    });
    const err = await loadError(name);
    expect(err.location).toBe('segments[4]');
    expect(err.message).toMatch(
      /^segments\[4\]: checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/,
    );
  });

  test('a corrupt hard state or snapshot record names meta[hardState] or snapshot[latest]', async () => {
    const a = uniqueName('corrupt-hs');
    await filled(a);
    await withRawDb(a, async (db) => {
      const bytes = (await db.get('meta', 'hardState'))!.slice();
      bytes[9]! ^= 1;
      await db.put('meta', bytes, 'hardState');
    });
    expect((await loadError(a)).message).toMatch(/^meta\[hardState\]: checksum mismatch/);

    const b = uniqueName('corrupt-snap');
    await filled(b);
    await withRawDb(b, async (db) => {
      const rec = (await db.get('snapshot', 'latest'))!;
      await db.put(
        'snapshot',
        { ...rec, bytes: rec.bytes.subarray(0, rec.bytes.length - 3) },
        'latest',
      );
    });
    expect((await loadError(b)).message).toMatch(/^snapshot\[latest\]: checksum mismatch/);
  });

  test('a missing segment is a gap; a hard state commit beyond the log is corruption', async () => {
    const a = uniqueName('gap');
    await filled(a);
    await withRawDb(a, (db) => db.delete('segments', 4));
    expect((await loadError(a)).message).toBe(
      'segments[7]: leaves a gap after segments[1], which ends at 3',
    );

    const b = uniqueName('commit');
    await filled(b);
    await withRawDb(b, (db) =>
      db.put('meta', encodeHardState(hs(2, 12)), 'hardState').then(() => undefined),
    );
    expect((await loadError(b)).message).toBe(
      'meta[hardState]: commit 12 is beyond the last index 9',
    );
  });

  test('a record whose plain fields disagree with its checksummed bytes is corruption', async () => {
    const name = uniqueName('fields');
    await filled(name);
    await withRawDb(name, async (db) => {
      const rec = (await db.get('segments', 7))!;
      await db.put('segments', { ...rec, lastIndex: 10 });
    });
    expect((await loadError(name)).message).toBe(
      'segments[7]: record says last index 10, its bytes end at 9',
    );
  });

  test('a corrupt database refuses writes too; destroy wipes it and a fresh one starts empty', async () => {
    const name = uniqueName('wipe');
    await filled(name);
    await withRawDb(name, async (db) => {
      const rec = (await db.get('segments', 1))!;
      const bytes = rec.bytes.slice();
      bytes[bytes.length - 1]! ^= 0xff;
      await db.put('segments', { ...rec, bytes });
    });
    const s = await IdbStorage.open(name);
    expect(await rejection(s.persist({ entries: ents(10, 10, 2) }))).toBeInstanceOf(
      StorageCorruptionError,
    );
    await s.close();
    await IdbStorage.destroy(name);
    const fresh = await IdbStorage.open(name);
    const state = await fresh.load();
    expect(state.entries).toEqual([]);
    expect(state.hardState.term).toBe(0);
    await fresh.close();
  });

  test('a record from a newer tabd is unsupported, not corrupt', async () => {
    const name = uniqueName('newer-record');
    await filled(name);
    await withRawDb(name, async (db) => {
      const bytes = (await db.get('meta', 'format'))!.slice();
      bytes[5] = 99; // format version
      new DataView(bytes.buffer).setUint32(
        bytes.length - 4,
        crc32(bytes, 0, bytes.length - 4),
        true,
      );
      await db.put('meta', bytes, 'format');
    });
    const s = await IdbStorage.open(name);
    expect(await rejection(s.load())).toBeInstanceOf(StorageUnsupportedFormatError);
    await s.close();
  });
});

describe('IdbStorage: lifecycle', () => {
  test('data survives close and reopen, across many segments', async () => {
    const name = uniqueName('reopen');
    let s = await IdbStorage.open(name);
    await s.load();
    for (let i = 0; i < 50; i++)
      await s.persist({ entries: ents(i * 3 + 1, i * 3 + 3, 1), hardState: hs(1, i * 3 + 3) });
    await s.close();
    s = await IdbStorage.open(name);
    const state = await s.load();
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(state.hardState).toEqual(hs(1, 150));
    await s.close();
  });

  test('small batches are merged into fewer records, in the same transactions as the persists', async () => {
    const name = uniqueName('merge');
    const s = await IdbStorage.open(name);
    await s.load();
    for (let i = 1; i <= 100; i++) await s.persist({ entries: ents(i, i, 1), hardState: hs(1, i) });
    await s.close();
    const keys = await (async () => {
      const db = await openDB<TabdDbSchema>(name);
      try {
        return await db.getAllKeys('segments');
      } finally {
        db.close();
      }
    })();
    expect(keys).toEqual([1, 33, 65, 97, 98, 99, 100]);
    const reopened = await IdbStorage.open(name);
    const state = await reopened.load();
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    await reopened.close();
  });

  test('two databases with different names do not interfere', async () => {
    const a = await IdbStorage.open(uniqueName('iso'));
    const b = await IdbStorage.open(uniqueName('iso'));
    await Promise.all([a.load(), b.load()]);
    await Promise.all([
      a.persist({ entries: ents(1, 3, 1), hardState: hs(1, 1, 'a') }),
      b.persist({ snapshot: snap(10, 4), entries: ents(11, 11, 4), hardState: hs(4, 10, 'b') }),
    ]);
    await a.persist({ entries: ents(2, 2, 2), hardState: hs(2, 1, 'a') });
    const [sa, sb] = await Promise.all([a.load(), b.load()]);
    expect(sa.entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(sa.snapshot.metadata.index).toBe(0);
    expect(sb.entries.map((e) => [e.index, e.term])).toEqual([[11, 4]]);
    expect(sb.hardState).toEqual(hs(4, 10, 'b'));
    await Promise.all([a.close(), b.close()]);
  });

  test('operations called without awaiting run one at a time, in call order', async () => {
    const s = await IdbStorage.open(uniqueName('order'));
    const pending: Promise<void>[] = [];
    for (let i = 1; i <= 40; i++)
      pending.push(s.persist({ entries: ents(i, i, 1), hardState: hs(1, Math.min(i, 25)) }));
    pending.push(s.persist({ entries: ents(30, 30, 2), hardState: hs(2, 25) }));
    pending.push(s.saveSnapshot(snap(20, 1), logIndex(20)));
    const loaded = s.load();
    await Promise.all(pending);
    const state = await loaded;
    expect(state.snapshot.metadata.index).toBe(20);
    expect(state.entries.map((e) => [e.index, e.term])).toEqual([
      ...Array.from({ length: 9 }, (_, i) => [21 + i, 1]),
      [30, 2],
    ]);
    await s.close();
  });

  test('databaseName encodes cluster and peer; listPeers finds the peers of one cluster', async () => {
    const cluster = `list/${crypto.randomUUID()}`;
    expect(IdbStorage.databaseName('c1', nodeId('p1'))).toBe('tabd/c1/p1');
    expect(IdbStorage.databaseName('a/b', 'c')).not.toBe(IdbStorage.databaseName('a', 'b/c'));
    const names = ['p2', 'p1', 'p/3'].map((p) => IdbStorage.databaseName(cluster, p));
    names.forEach((n) => created.add(n));
    for (const n of names) await (await IdbStorage.open(n)).close();
    await (await IdbStorage.open(uniqueName('other-cluster'))).close();
    expect(await IdbStorage.listPeers(cluster)).toEqual(['p/3', 'p1', 'p2']);
  });

  test('another tab deleting the database closes this connection (versionchange) and the delete completes', async () => {
    const name = uniqueName('versionchange');
    const closes: string[] = [];
    const s = await IdbStorage.open(name, { onClose: (reason) => closes.push(reason) });
    await s.load();
    await s.persist({ entries: ents(1, 1, 1), hardState: hs(1, 1) });
    let blocked = 0;
    await IdbStorage.destroy(name, { onBlocked: () => blocked++ });
    expect(closes).toEqual(['versionchange']);
    expect(s.closed).toBe(true);
    const err = await rejection(s.persist({ entries: ents(2, 2, 1) }));
    expect(err).toBeInstanceOf(StorageClosedError);
    expect((err as StorageClosedError).reason).toBe('versionchange');
    expect(blocked).toBe(0);
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain(name);
  });

  test('an upgrade by a newer tabd closes this connection; this code then refuses the newer database', async () => {
    const name = uniqueName('upgrade');
    const closes: string[] = [];
    const s = await IdbStorage.open(name, { onClose: (reason) => closes.push(reason) });
    await s.load();
    const newer = await openDB(name, 2, { upgrade: () => undefined });
    newer.close();
    expect(closes).toEqual(['versionchange']);
    const err = await rejection(IdbStorage.open(name));
    expect(err).toBeInstanceOf(StorageUnsupportedFormatError);
    expect((err as Error).cause).toBeInstanceOf(DOMException);
  });
});

describe('IdbStorage: quota', () => {
  test('a QuotaExceededError from IndexedDB maps to quota-exceeded; the transaction aborts whole and earlier state is intact', async () => {
    const name = uniqueName('quota');
    let failOn: string | undefined;
    const quotaError = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const s = await IdbStorage.open(name, {
      faultInjection: {
        beforeWrite(store) {
          if (store === failOn) throw quotaError;
        },
      },
    });
    await s.load();
    await s.persist({ entries: ents(1, 4, 1), hardState: hs(1, 2) });
    await s.persist({ entries: ents(5, 6, 1), hardState: hs(1, 2) });

    // The hard state put fails after the trim, the range delete and the new segment were issued.
    failOn = 'meta';
    const err = await rejection(s.persist({ entries: ents(3, 3, 2), hardState: hs(2, 2) }));
    expect(err).toBeInstanceOf(StorageQuotaExceededError);
    expect((err as StorageQuotaExceededError).code).toBe('quota-exceeded');
    expect((err as Error).cause).toBe(quotaError);
    failOn = undefined;

    const expectIntact = (entries: readonly Entry[]) =>
      expect(entries.map((e) => [e.index, e.term])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 1],
        [6, 1],
      ]);
    expectIntact((await s.load()).entries);
    await s.close();
    const reopened = await IdbStorage.open(name);
    const state = await reopened.load();
    expectIntact(state.entries);
    expect(state.hardState).toEqual(hs(1, 2));
    // Retrying the same batch (the node's NOSPACE recovery after space is freed) works.
    await reopened.persist({ entries: ents(5, 5, 2), hardState: hs(2, 4) });
    expect((await reopened.load()).entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 2],
    ]);
    await reopened.close();
  });
});
