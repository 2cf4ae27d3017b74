// Smoke test of the two browser facilities the node runtime is built on, in a real Chromium:
// IndexedDB through `idb` (durable Raft state, one readwrite transaction per Ready) and Web Locks
// (a tab holds its peer identity with a lock for its whole life, so a second holder must fail).
import { deleteDB, openDB } from 'idb';
import type { DBSchema } from 'idb';
import { describe, expect, test } from 'vitest';

interface SmokeSchema extends DBSchema {
  segments: {
    key: number;
    value: { firstIndex: number; term: number; entries: string[] };
  };
}

// A per-run name so a crashed earlier run (or a parallel worker) cannot hand us stale data.
function uniqueName(prefix: string): string {
  return `${prefix}/${crypto.randomUUID()}`;
}

describe('browser runtime prerequisites (real Chromium)', () => {
  test('runs in a real browser, not a Node shim', () => {
    expect(typeof window).toBe('object');
    expect(navigator.userAgent).toMatch(/Chrom/);
    expect(typeof indexedDB.open).toBe('function');
  });

  test('IndexedDB: a record written in one readwrite transaction reads back, then the database is deleted', async () => {
    const name = uniqueName('tabd-smoke');
    const db = await openDB<SmokeSchema>(name, 1, {
      upgrade(upgradeDb) {
        upgradeDb.createObjectStore('segments', { keyPath: 'firstIndex' });
      },
    });
    try {
      const segment = { firstIndex: 7, term: 3, entries: ['put a=1', 'put b=2'] };
      const tx = db.transaction('segments', 'readwrite');
      await Promise.all([tx.store.put(segment), tx.done]);

      // Read in a fresh transaction, so the value comes from the committed store.
      expect(await db.get('segments', 7)).toEqual(segment);
      expect(await db.get('segments', 8)).toBeUndefined();
      expect(await db.count('segments')).toBe(1);
    } finally {
      db.close();
    }

    await deleteDB(name);
    const names = (await indexedDB.databases()).map((info) => info.name);
    expect(names).not.toContain(name);
  });

  test('Web Locks: ifAvailable yields null while another holder has the lock, and succeeds after release', async () => {
    expect(navigator.locks).toBeDefined();
    const lockName = uniqueName('tabd-smoke-lock');

    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let acquired!: () => void;
    const isHeld = new Promise<void>((resolve) => {
      acquired = resolve;
    });
    const holder = navigator.locks.request(lockName, async (lock) => {
      expect(lock?.name).toBe(lockName);
      acquired();
      await released;
      return 'held-and-released';
    });
    await isHeld;

    const whileHeld = await navigator.locks.request(
      lockName,
      { ifAvailable: true },
      (lock) => lock,
    );
    expect(whileHeld).toBeNull();

    const snapshot = await navigator.locks.query();
    expect(snapshot.held?.some((info) => info.name === lockName)).toBe(true);

    release();
    expect(await holder).toBe('held-and-released');

    const afterRelease = await navigator.locks.request(
      lockName,
      { ifAvailable: true },
      (lock) => lock?.name ?? null,
    );
    expect(afterRelease).toBe(lockName);
  });
});
