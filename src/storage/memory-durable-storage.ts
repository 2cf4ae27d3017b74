import { emptyHardState, type Entry, type LogIndex, type Snapshot } from '../raft/index.js';
import type { DurableStorage, LoadedState, PersistBatch } from './durable-storage.js';
import { StorageClosedError, StorageClosedReason, StorageError } from './errors.js';
import { encodedSegmentBytes } from './record-codec.js';
import {
  applyPlan,
  assembleLoadedState,
  defaultMergePolicy,
  planPersist,
  planSaveSnapshot,
  type CompactionPlan,
  type LogShape,
  type MergePolicy,
  type PersistPlan,
  type SegmentOps,
} from './segment-log.js';

/** MemorySegment is one stored segment, as IdbStorage would store it (`bytes` is its record size there). */
interface MemorySegment {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly bytes: number;
  readonly entries: readonly Entry[];
}

/** MemoryDisk is the "durable" state shared by every handle reopened on it. */
interface MemoryDisk {
  snapshot: Snapshot | undefined;
  shape: LogShape<MemorySegment>;
  readonly mergePolicy: MergePolicy;
  /** writes counts persist and saveSnapshot calls that changed something (for tests). */
  writes: number;
}

export interface MemoryDurableStorageOptions {
  /** mergePolicy: as IdbStorageOptions.mergePolicy; set the same in both to get the same layout. */
  readonly mergePolicy?: MergePolicy;
}

/** SimulatedCrashError is thrown by a write that a test made crash; the handle is closed after it. */
export class SimulatedCrashError extends Error {
  override readonly name = 'SimulatedCrashError';
}

/**
 * MemoryDurableStorage is a synchronous, in-memory DurableStorage for unit tests and the
 * simulator. It stores the log as IdbStorage does (one segment per persist batch, small ones
 * merged, all planned by the same code in segment-log.ts), copies every byte array it is given or returns (values, not
 * references, as IndexedDB's structured clone), and applies each write all at once, so a write
 * that fails or crashes leaves nothing behind.
 *
 * Crash simulation: the data lives on a "disk" that outlives the handle. `crash()` closes the
 * handle as a killed process would; `crashDuringNextWrite()` makes the next persist or
 * saveSnapshot crash before its effects land (the whole batch is lost, nothing torn);
 * `failNextWrite(error)` makes it fail with a StorageError (e.g. StorageQuotaExceededError) and
 * leaves the handle open; `reopen()` returns a fresh handle on the same disk, like a restarted tab.
 */
export class MemoryDurableStorage implements DurableStorage {
  private readonly disk: MemoryDisk;
  private closedReason: StorageClosedReason | undefined;
  private pendingFault: { kind: 'crash' } | { kind: 'fail'; error: StorageError } | undefined;

  /** The second parameter is internal: reopen() passes the disk it shares. */
  constructor(options: MemoryDurableStorageOptions = {}, disk?: MemoryDisk) {
    this.disk = disk ?? newDisk(options.mergePolicy ?? defaultMergePolicy);
  }

  /** reopen returns a new handle on the same durable data (this one may be closed or crashed). */
  reopen(): MemoryDurableStorage {
    return new MemoryDurableStorage({}, this.disk);
  }

  /** crash closes this handle like a killed process; the data written so far stays. */
  crash(): void {
    this.closedReason = StorageClosedReason.Crashed;
  }

  /** crashDuringNextWrite: the next persist/saveSnapshot throws SimulatedCrashError and writes nothing. */
  crashDuringNextWrite(): void {
    this.pendingFault = { kind: 'crash' };
  }

  /** crashDuringNextPersist is crashDuringNextWrite under the name the tests use for Readys. */
  crashDuringNextPersist(): void {
    this.crashDuringNextWrite();
  }

  /** failNextWrite: the next persist/saveSnapshot throws `error` and writes nothing. */
  failNextWrite(error: StorageError): void {
    this.pendingFault = { kind: 'fail', error };
  }

  /** writeCount is the number of writes that changed the durable state, across all handles. */
  get writeCount(): number {
    return this.disk.writes;
  }

  /** segmentCount is the number of stored segments (records, in IdbStorage terms), for tests. */
  get segmentCount(): number {
    return this.disk.shape.spans.length;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  load(): LoadedState {
    this.checkOpen();
    const { state } = assembleLoadedState({
      hardState: this.disk.shape.hardState,
      snapshot: this.disk.snapshot,
      segments: this.disk.shape.spans.map((s) => ({
        key: s.firstIndex,
        entries: s.entries,
        bytes: s.bytes,
      })),
    });
    return {
      hardState: { ...state.hardState },
      snapshot: copySnapshot(state.snapshot),
      entries: state.entries.map(copyEntry),
    };
  }

  persist(batch: PersistBatch): void {
    this.checkOpen();
    const plan = planPersist(this.disk.shape, batch, this.disk.mergePolicy);
    this.commit(plan);
  }

  saveSnapshot(snapshot: Snapshot, compactIndex: LogIndex): void {
    this.checkOpen();
    this.commit(planSaveSnapshot(this.disk.shape, snapshot, compactIndex));
  }

  close(): void {
    this.closedReason ??= StorageClosedReason.Closed;
  }

  private checkOpen(): void {
    if (this.closedReason !== undefined) throw new StorageClosedError(this.closedReason);
  }

  /** commit applies a plan all at once, unless a fault was injected (then nothing changes). */
  private commit(plan: PersistPlan | CompactionPlan | undefined): void {
    const fault = this.pendingFault;
    this.pendingFault = undefined;
    if (fault?.kind === 'crash') {
      this.closedReason = StorageClosedReason.Crashed;
      throw new SimulatedCrashError('simulated crash during a write: nothing of it was stored');
    }
    if (fault?.kind === 'fail') throw fault.error;
    if (plan === undefined) return;
    // Everything that can throw (copying) happens before the first mutation.
    const snapshot = plan.snapshot === undefined ? undefined : copySnapshot(plan.snapshot);
    applyPlan(this.disk.shape, plan, memorySegmentOps);
    if (snapshot !== undefined) this.disk.snapshot = snapshot;
    if ('hardState' in plan && plan.hardState !== undefined)
      this.disk.shape.hardState = { ...plan.hardState };
    this.disk.writes++;
  }
}

function newDisk(mergePolicy: MergePolicy): MemoryDisk {
  return {
    snapshot: undefined,
    shape: { snapshotIndex: 0, hardState: emptyHardState, spans: [] },
    mergePolicy,
    writes: 0,
  };
}

const memorySegmentOps: SegmentOps<MemorySegment> = {
  make(entries, merged) {
    const all = [...merged.flatMap((s) => s.entries), ...entries.map(copyEntry)];
    return {
      firstIndex: all[0]!.index,
      lastIndex: all[all.length - 1]!.index,
      bytes: encodedSegmentBytes(all),
      entries: all,
    };
  },
  trim(s, keepThrough) {
    const entries = s.entries.slice(0, keepThrough - s.firstIndex + 1);
    return {
      firstIndex: s.firstIndex,
      lastIndex: keepThrough,
      bytes: encodedSegmentBytes(entries),
      entries,
    };
  },
};

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: e.data.slice() };
}

function copySnapshot(s: Snapshot): Snapshot {
  const cs = s.metadata.confState;
  return {
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      confState: {
        voters: [...cs.voters],
        learners: [...cs.learners],
        votersOutgoing: [...cs.votersOutgoing],
        learnersNext: [...cs.learnersNext],
        autoLeave: cs.autoLeave,
      },
    },
    data: s.data.slice(),
  };
}
