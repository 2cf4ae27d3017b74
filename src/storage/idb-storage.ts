import { deleteDB, openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { Entry, LogIndex, NodeId, Snapshot } from '../raft/index.js';
import type { DurableStorage, LoadedState, PersistBatch } from './durable-storage.js';
import {
  StorageClosedError,
  StorageClosedReason,
  StorageCorruptionError,
  toStorageError,
  type StorageError,
} from './errors.js';
import {
  decodeFormat,
  decodeHardState,
  decodeSegment,
  decodeSnapshot,
  encodeFormat,
  encodeHardState,
  encodeSegment,
  encodeSnapshot,
  encodedSegmentBytes,
} from './record-codec.js';
import {
  applyPlan,
  assembleLoadedState,
  defaultMergePolicy,
  hardStateLocation,
  mergedBytes,
  planPersist,
  planSaveSnapshot,
  snapshotLocation,
  type CompactionPlan,
  type LogShape,
  type MergePolicy,
  type PersistPlan,
  type SegmentOps,
  type SegmentSpan,
  type StoredSegment,
} from './segment-log.js';

/** IDB_SCHEMA_VERSION is the IndexedDB version: it changes when object stores change. */
export const IDB_SCHEMA_VERSION = 1;

/** SegmentRecord is one persist batch's entries; `bytes` is a segment record (record-codec.ts). */
export interface SegmentRecord {
  /** firstIndex is the key (keyPath) and the index of the first entry. */
  readonly firstIndex: number;
  /** lastIndex is the index of the last entry; it must agree with `bytes`, load() checks. */
  readonly lastIndex: number;
  readonly bytes: Uint8Array;
}

/** SnapshotRecord is the latest snapshot; `index` and `term` repeat what `bytes` holds, for DevTools. */
export interface SnapshotRecord {
  readonly index: number;
  readonly term: number;
  readonly bytes: Uint8Array;
}

export type MetaKey = 'format' | 'hardState';

/** TabdDbSchema types the three object stores of a peer's database. */
export interface TabdDbSchema extends DBSchema {
  /** meta: the format marker (written at creation) and the hard state, each a binary record. */
  meta: { key: MetaKey; value: Uint8Array };
  /** segments: the log, one record per persist batch (runs of small ones merged), keyed by first index. */
  segments: { key: number; value: SegmentRecord };
  /** snapshot: at most one record, under 'latest'. */
  snapshot: { key: 'latest'; value: SnapshotRecord };
}

export type IdbStoreName = 'meta' | 'segments' | 'snapshot';
export type IdbWriteOp = 'put' | 'delete' | 'clear';

/**
 * IdbFaultInjection lets tests fail a write the way the browser would: `beforeWrite` runs before
 * each write request of a persist or saveSnapshot transaction, and whatever it throws (e.g.
 * `new DOMException('...', 'QuotaExceededError')`) is handled as that request's failure: the
 * transaction is aborted, so nothing of it is stored, and the error is mapped as a real one.
 */
export interface IdbFaultInjection {
  beforeWrite?(store: IdbStoreName, op: IdbWriteOp, key: string | number): void;
}

export interface IdbStorageOptions {
  /**
   * durability of readwrite transactions. Default 'strict': Chromium flushes (fsyncs) before it
   * reports completion, so an acknowledged Ready survives an OS crash or power cut too. 'relaxed'
   * (Chromium's 'default') survives a crash of the tab, renderer or browser, but a peer whose
   * machine loses power may forget a vote or entries it acknowledged, which Raft cannot tolerate.
   * See index.ts for the measurements.
   */
  readonly durability?: 'strict' | 'relaxed' | 'default';
  /** onClose is called when the connection closes for a reason other than close(). */
  readonly onClose?: (reason: StorageClosedReason) => void;
  /** onBlocked is called while opening waits for other connections (an upgrade they block). */
  readonly onBlocked?: () => void;
  /** mergePolicy: when runs of small segments are rewritten as one (default defaultMergePolicy). */
  readonly mergePolicy?: MergePolicy;
  readonly faultInjection?: IdbFaultInjection;
}

type Db = IDBPDatabase<TabdDbSchema>;
type WriteTx = IDBPTransaction<TabdDbSchema, IdbStoreName[], 'readwrite'>;

const DB_PREFIX = 'tabd/';

/**
 * IdbStorage is a peer's DurableStorage in IndexedDB: one database per peer identity, each
 * persist one readwrite transaction, each batch of entries one record (runs of small batches are
 * merged, see MergePolicy). Operations run one at a
 * time in call order. It keeps the index ranges of its segments in memory (loaded by load(), or
 * by the first write) so that an append, the common case, is a single put with no read.
 */
export class IdbStorage implements DurableStorage {
  private closedReason: StorageClosedReason | undefined;
  private shape: LogShape | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly durability: 'strict' | 'relaxed' | 'default';
  private readonly mergePolicy: MergePolicy;

  private constructor(
    private readonly db: Db,
    readonly dbName: string,
    private readonly options: IdbStorageOptions,
  ) {
    this.durability = options.durability ?? 'strict';
    this.mergePolicy = options.mergePolicy ?? defaultMergePolicy;
  }

  /** databaseName is the database of peer `peer` of cluster `cluster`: `tabd/<cluster>/<peer>`, URI-encoded parts. */
  static databaseName(cluster: string, peer: NodeId | string): string {
    return `${DB_PREFIX}${encodeURIComponent(cluster)}/${encodeURIComponent(peer)}`;
  }

  /** listPeers returns the peer ids of `cluster` that have a database in this origin. */
  static async listPeers(cluster: string): Promise<string[]> {
    const prefix = `${DB_PREFIX}${encodeURIComponent(cluster)}/`;
    let infos: IDBDatabaseInfo[];
    try {
      infos = await indexedDB.databases();
    } catch (e) {
      throw toStorageError(e, 'list databases');
    }
    return infos
      .map((i) => i.name ?? '')
      .filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes('/'))
      .map((n) => decodeURIComponent(n.slice(prefix.length)))
      .sort();
  }

  /**
   * open opens (creating if needed) the database `dbName`. It does not read the log: call load().
   * Rejects with StorageUnsupportedFormatError if a newer tabd created the database.
   */
  static async open(dbName: string, options: IdbStorageOptions = {}): Promise<IdbStorage> {
    // The callbacks may fire before the IdbStorage exists (they are set up with the open).
    const late: { storage?: IdbStorage; lost?: StorageClosedReason } = {};
    const lose = (reason: StorageClosedReason) => {
      if (late.storage) late.storage.lose(reason);
      else late.lost = reason;
    };
    let db: Db;
    try {
      db = await openDB<TabdDbSchema>(dbName, IDB_SCHEMA_VERSION, {
        upgrade(upgradeDb, oldVersion, _newVersion, tx) {
          // Versions only grow from here; a later schema adds its migration below this one.
          if (oldVersion < 1) {
            upgradeDb.createObjectStore('meta');
            upgradeDb.createObjectStore('segments', { keyPath: 'firstIndex' });
            upgradeDb.createObjectStore('snapshot');
            void tx.objectStore('meta').put(encodeFormat(), 'format');
          }
        },
        blocked() {
          options.onBlocked?.();
        },
        // Another tab wants to upgrade or delete this database: let it, and stop.
        blocking() {
          lose(StorageClosedReason.VersionChange);
        },
        terminated() {
          lose(StorageClosedReason.Terminated);
        },
      });
    } catch (e) {
      throw toStorageError(e, `open ${dbName}`);
    }
    const storage = new IdbStorage(db, dbName, options);
    late.storage = storage;
    if (late.lost !== undefined) storage.lose(late.lost);
    return storage;
  }

  /**
   * destroy deletes the database `dbName` with everything in it (to wipe a corrupt peer before it
   * rejoins as a new member). Other open connections to it are asked to close (versionchange);
   * `onBlocked` is called while one has not.
   */
  static async destroy(dbName: string, options: { onBlocked?: () => void } = {}): Promise<void> {
    try {
      await deleteDB(dbName, { blocked: () => options.onBlocked?.() });
    } catch (e) {
      throw toStorageError(e, `delete ${dbName}`);
    }
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  load(): Promise<LoadedState> {
    return this.enqueue(() => this.loadNow());
  }

  persist(batch: PersistBatch): Promise<void> {
    return this.enqueue(async () => {
      const shape = await this.ensureShape();
      const plan = planPersist(shape, batch, this.mergePolicy);
      if (plan === undefined) return;
      const written = await this.write(plan, 'persist');
      applyPlan(shape, plan, spanOps(written));
    });
  }

  saveSnapshot(snapshot: Snapshot, compactIndex: LogIndex): Promise<void> {
    return this.enqueue(async () => {
      const shape = await this.ensureShape();
      const plan = planSaveSnapshot(shape, snapshot, compactIndex);
      if (plan === undefined) return;
      const written = await this.write(plan, 'saveSnapshot');
      applyPlan(shape, plan, spanOps(written));
    });
  }

  /** close closes the connection after the operations already called have finished. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closedReason !== undefined) return;
      this.closedReason = StorageClosedReason.Closed;
      this.db.close();
    }, true);
  }

  /** lose closes the connection at once (versionchange, terminated); transactions in flight finish. */
  private lose(reason: StorageClosedReason): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.db.close();
    this.options.onClose?.(reason);
  }

  /**
   * enqueue runs `op` after every operation called before it, whatever their outcome; on a
   * closed storage it rejects with StorageClosedError instead, unless `evenIfClosed`.
   */
  private enqueue<T>(op: () => Promise<T>, evenIfClosed = false): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closedReason !== undefined && !evenIfClosed)
        throw new StorageClosedError(this.closedReason);
      return op();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private wrap(e: unknown, what: string): StorageError {
    return toStorageError(e, `${this.dbName}: ${what}`, this.closedReason);
  }

  private async ensureShape(): Promise<LogShape> {
    if (this.shape === undefined) await this.loadNow();
    return this.shape!;
  }

  private async loadNow(): Promise<LoadedState> {
    let format: Uint8Array | undefined;
    let hardState: Uint8Array | undefined;
    let snapshot: SnapshotRecord | undefined;
    let segments: SegmentRecord[];
    try {
      const tx = this.db.transaction(['meta', 'segments', 'snapshot'], 'readonly');
      [format, hardState, snapshot, segments] = await Promise.all([
        tx.objectStore('meta').get('format'),
        tx.objectStore('meta').get('hardState'),
        tx.objectStore('snapshot').get('latest'),
        tx.objectStore('segments').getAll(),
        tx.done,
      ]);
    } catch (e) {
      throw this.wrap(e, 'load');
    }
    if (format === undefined) throw new StorageCorruptionError('meta[format]', 'missing');
    decodeFormat(format, 'meta[format]');
    const stored: StoredSegment[] = segments.map(decodeSegmentRecord);
    let snap: Snapshot | undefined;
    if (snapshot !== undefined) {
      if (!isRecordObject(snapshot))
        throw new StorageCorruptionError(snapshotLocation, 'not a snapshot record');
      snap = decodeSnapshot(snapshot.bytes, snapshotLocation);
      if (snap.metadata.index !== snapshot.index || snap.metadata.term !== snapshot.term) {
        throw new StorageCorruptionError(
          snapshotLocation,
          `record says index ${snapshot.index} term ${snapshot.term}, its bytes say ${snap.metadata.index}/${snap.metadata.term}`,
        );
      }
    }
    const { state, shape } = assembleLoadedState({
      hardState:
        hardState === undefined ? undefined : decodeHardState(hardState, hardStateLocation),
      snapshot: snap,
      segments: stored,
    });
    this.shape = shape;
    return state;
  }

  /**
   * write makes one plan durable in one readwrite transaction, or nothing of it. It returns what
   * the span mirror needs and only the transaction knew (the size of a rewritten segment).
   */
  private async write(plan: PersistPlan | CompactionPlan, what: string): Promise<Written> {
    // Encode first: CPU work and its failures stay outside the transaction (a merge, which needs
    // the stored segments, is the exception).
    const changes = plan.segments;
    const append = changes.append;
    let segment: SegmentRecord | undefined =
      append === undefined || changes.mergeFrom !== undefined
        ? undefined
        : {
            firstIndex: append[0]!.index,
            lastIndex: append[append.length - 1]!.index,
            bytes: encodeSegment(append),
          };
    const snapshot: SnapshotRecord | undefined =
      plan.snapshot === undefined
        ? undefined
        : {
            index: plan.snapshot.metadata.index,
            term: plan.snapshot.metadata.term,
            bytes: encodeSnapshot(plan.snapshot),
          };
    const hardState =
      'hardState' in plan && plan.hardState !== undefined
        ? encodeHardState(plan.hardState)
        : undefined;
    const touchesSegments =
      changes.clearAll ||
      changes.deleteThrough !== undefined ||
      changes.deleteFrom !== undefined ||
      changes.trim !== undefined ||
      append !== undefined;
    const stores: IdbStoreName[] = [];
    if (hardState !== undefined) stores.push('meta');
    if (touchesSegments) stores.push('segments');
    if (snapshot !== undefined) stores.push('snapshot');
    const written: Written = {};
    if (stores.length === 0) return written;

    let tx: WriteTx;
    try {
      tx = this.db.transaction(stores, 'readwrite', { durability: this.durability });
    } catch (e) {
      throw this.wrap(e, what);
    }
    const hook = this.options.faultInjection?.beforeWrite;
    const request = (
      store: IdbStoreName,
      op: IdbWriteOp,
      key: string | number,
      issue: () => Promise<unknown>,
    ) => {
      hook?.(store, op, key);
      // A failed request aborts the transaction; its error is tx.error, which tx.done rejects
      // with. The requests' own rejections (AbortError for the others) carry nothing more.
      void issue().catch(() => undefined);
    };
    try {
      if (touchesSegments) {
        const segs = tx.objectStore('segments');
        if (changes.trim !== undefined) {
          // Rare (a follower's conflicting suffix): read the straddling segment inside the
          // transaction and rewrite its prefix.
          const { firstIndex, keepThrough } = changes.trim;
          const where = `segments[${firstIndex}]`;
          const old = await segs.get(firstIndex);
          if (old === undefined || !isRecordObject(old)) {
            throw new StorageCorruptionError(where, 'missing while trimming');
          }
          const entries = decodeSegment(old.bytes, where).entries.slice(
            0,
            keepThrough - firstIndex + 1,
          );
          const trimmed: SegmentRecord = {
            firstIndex,
            lastIndex: keepThrough,
            bytes: encodeSegment(entries),
          };
          written.trimmedBytes = trimmed.bytes.length;
          request('segments', 'put', firstIndex, () => segs.put(trimmed));
        }
        if (changes.mergeFrom !== undefined && append !== undefined) {
          // A run of small segments becomes one record with the new entries (MergePolicy).
          const from = changes.mergeFrom;
          const run = await segs.getAll(IDBKeyRange.lowerBound(from));
          const entries: Entry[] = [];
          let expected = from;
          for (const rec of run) {
            const seg = decodeSegmentRecord(rec);
            if (seg.key !== expected) {
              throw new StorageCorruptionError(
                `segments[${seg.key}]`,
                `found while merging from ${from}, expected ${expected}`,
              );
            }
            for (const e of seg.entries) entries.push(e);
            expected = seg.key + seg.entries.length;
          }
          if (expected !== append[0]!.index) {
            throw new StorageCorruptionError(
              `segments[${from}]`,
              `merge run ends at ${expected - 1}, not before ${append[0]!.index}`,
            );
          }
          for (const e of append) entries.push(e);
          segment = {
            firstIndex: from,
            lastIndex: append[append.length - 1]!.index,
            bytes: encodeSegment(entries),
          };
          request('segments', 'delete', `${from}..`, () =>
            segs.delete(IDBKeyRange.lowerBound(from)),
          );
        }
        if (changes.clearAll) request('segments', 'clear', '*', () => segs.clear());
        const { deleteThrough, deleteFrom } = changes;
        if (deleteThrough !== undefined) {
          request('segments', 'delete', `..${deleteThrough}`, () =>
            segs.delete(IDBKeyRange.upperBound(deleteThrough)),
          );
        }
        if (deleteFrom !== undefined) {
          request('segments', 'delete', `${deleteFrom}..`, () =>
            segs.delete(IDBKeyRange.lowerBound(deleteFrom)),
          );
        }
        const put = segment;
        if (put !== undefined) request('segments', 'put', put.firstIndex, () => segs.put(put));
      }
      if (snapshot !== undefined) {
        const snaps = tx.objectStore('snapshot');
        request('snapshot', 'put', 'latest', () => snaps.put(snapshot, 'latest'));
      }
      if (hardState !== undefined) {
        const meta = tx.objectStore('meta');
        request('meta', 'put', 'hardState', () => meta.put(hardState, 'hardState'));
      }
      await tx.done;
      return written;
    } catch (e) {
      tx.done.catch(() => undefined);
      try {
        tx.abort();
      } catch {
        // Already finished or aborting: nothing more to undo.
      }
      throw this.wrap(e, what);
    }
  }
}

function isRecordObject(v: unknown): v is { bytes: Uint8Array } {
  return (
    typeof v === 'object' && v !== null && (v as { bytes?: unknown }).bytes instanceof Uint8Array
  );
}

function decodeSegmentRecord(rec: SegmentRecord): StoredSegment {
  const where = `segments[${typeof rec === 'object' && rec !== null ? rec.firstIndex : '?'}]`;
  if (!isRecordObject(rec)) throw new StorageCorruptionError(where, 'not a segment record');
  const seg = decodeSegment(rec.bytes, where);
  if (seg.firstIndex !== rec.firstIndex) {
    throw new StorageCorruptionError(
      where,
      `stored under key ${rec.firstIndex} but its bytes start at ${seg.firstIndex}`,
    );
  }
  const lastIndex = seg.firstIndex + seg.entries.length - 1;
  if (rec.lastIndex !== lastIndex) {
    throw new StorageCorruptionError(
      where,
      `record says last index ${rec.lastIndex}, its bytes end at ${lastIndex}`,
    );
  }
  return { key: rec.firstIndex, entries: seg.entries, bytes: rec.bytes.length };
}

/** Written is what a committed write tells the span mirror. */
interface Written {
  trimmedBytes?: number;
}

function spanOps(written: Written): SegmentOps<SegmentSpan> {
  return {
    make(entries, merged) {
      return {
        firstIndex: merged[0]?.firstIndex ?? entries[0]!.index,
        lastIndex: entries[entries.length - 1]!.index,
        bytes: mergedBytes([...merged.map((s) => s.bytes), encodedSegmentBytes(entries)]),
      };
    },
    trim(s, keepThrough) {
      return {
        firstIndex: s.firstIndex,
        lastIndex: keepThrough,
        bytes: written.trimmedBytes ?? s.bytes,
      };
    },
  };
}
