// The log as both DurableStorage implementations keep it: a sorted, contiguous list of segments,
// one per persist batch, keyed by first index, plus the latest snapshot and the hard state. This
// module is the single place that decides what a persist or a snapshot does to that list
// (planPersist, planSaveSnapshot, applySegmentChanges) and what a loaded set of records must look
// like to be trusted (assembleLoadedState). IdbStorage turns a plan into one IndexedDB
// transaction; MemoryDurableStorage applies it to arrays. Both therefore agree by construction,
// and the shared contract tests check that they also agree in behaviour.
import { assert } from '../raft/assert.js';
import {
  emptyConfState,
  emptyHardState,
  isEmptySnapshot,
  logIndex,
  term,
  type Entry,
  type HardState,
  type LogIndex,
  type Snapshot,
} from '../raft/index.js';
import type { LoadedState, PersistBatch } from './durable-storage.js';
import { StorageCorruptionError } from './errors.js';
import { SEGMENT_FIXED_BYTES, encodedSegmentBytes } from './record-codec.js';

/**
 * SegmentSpan is one stored segment: entries [firstIndex, lastIndex] (firstIndex is its key) in a
 * record of `bytes` bytes (encodedSegmentBytes of its entries).
 */
export interface SegmentSpan {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly bytes: number;
}

/**
 * MergePolicy keeps the number of records down when Readys are small (one entry each under serial
 * writes): a persist that would add the `fanIn`-th small segment in a row instead rewrites that
 * run, with its own entries, as one record, in the same transaction. A segment is small when it
 * has fewer than `fanIn` entries and fewer than `smallBytes` bytes; a merged segment has at least
 * `fanIn` entries, so it is never merged again (each small entry is written at most twice).
 * Reading a peer's log at start costs per record as much as per byte (see index.ts), hence this.
 */
export interface MergePolicy {
  /** fanIn: how many small segments in a row become one; below 2 disables merging. */
  readonly fanIn: number;
  readonly smallBytes: number;
}

export const defaultMergePolicy: MergePolicy = { fanIn: 32, smallBytes: 4096 };

function isSmall(s: SegmentSpan, policy: MergePolicy): boolean {
  return s.lastIndex - s.firstIndex + 1 < policy.fanIn && s.bytes < policy.smallBytes;
}

/**
 * LogShape is what an implementation tracks in memory about its durable state, to plan writes
 * without reading. Invariants (established by assembleLoadedState, kept by applying plans):
 * `spans` are sorted and contiguous (each starts right after the previous one ends); when
 * non-empty, the first starts at or before `snapshotIndex + 1` and the last ends at or after
 * `snapshotIndex`; `hardState` is the durable hard state.
 */
export interface LogShape<S extends SegmentSpan = SegmentSpan> {
  snapshotIndex: number;
  hardState: HardState;
  spans: S[];
}

/** lastIndexOf returns the index of the last durable entry (the snapshot index when the log is empty). */
export function lastIndexOf(shape: Pick<LogShape, 'snapshotIndex' | 'spans'>): number {
  return lastIndexOfSpans(shape.snapshotIndex, shape.spans);
}

function lastIndexOfSpans(snapshotIndex: number, spans: readonly SegmentSpan[]): number {
  const last = spans[spans.length - 1];
  return last === undefined ? snapshotIndex : Math.max(last.lastIndex, snapshotIndex);
}

/** SegmentChanges are the segment writes of one plan, to be applied in this order. */
export interface SegmentChanges {
  /** clearAll: delete every segment (a snapshot from the leader replaces the whole log). */
  readonly clearAll: boolean;
  /** deleteThrough: delete segments whose firstIndex ≤ this (compaction). */
  readonly deleteThrough?: number | undefined;
  /** deleteFrom: delete segments whose firstIndex ≥ this (a conflicting suffix is overwritten). */
  readonly deleteFrom?: number | undefined;
  /** trim: rewrite the segment keyed `firstIndex` to end at `keepThrough`. */
  readonly trim?: { readonly firstIndex: number; readonly keepThrough: number } | undefined;
  /** append: a new segment holding these entries (non-empty, contiguous). */
  readonly append?: readonly Entry[] | undefined;
  /**
   * mergeFrom: the new segment also takes in every stored segment from this key on (a run of
   * small segments ending right before `append`), which are deleted; its key is `mergeFrom`.
   */
  readonly mergeFrom?: number | undefined;
}

/** PersistPlan is everything one persist(batch) writes, atomically. */
export interface PersistPlan {
  readonly snapshot?: Snapshot | undefined;
  readonly segments: SegmentChanges;
  readonly hardState?: HardState | undefined;
}

/**
 * planPersist decides what persisting `batch` writes, given the durable shape. Returns undefined
 * when the batch changes nothing. Order of effects: a snapshot replaces the whole log; entries
 * at or before the (new) snapshot index are ignored (as MemoryStorage.append does); the rest
 * overwrite any stored entry at an index ≥ their first index (Raft's conflicting suffix); the
 * hard state replaces the stored one. Caller bugs (a gap, an older snapshot, overwriting a
 * committed entry, a commit outside the log, terms decreasing in the batch) are assertions.
 */
export function planPersist(
  shape: LogShape,
  batch: PersistBatch,
  policy: MergePolicy = defaultMergePolicy,
): PersistPlan | undefined {
  let snapshotIndex = shape.snapshotIndex;
  let spans: readonly SegmentSpan[] = shape.spans;
  let snapshot: Snapshot | undefined;
  if (batch.snapshot !== undefined && !isEmptySnapshot(batch.snapshot)) {
    snapshot = batch.snapshot;
    assert(
      snapshot.metadata.index > snapshotIndex,
      () =>
        `persisting snapshot ${snapshot!.metadata.index}, not newer than the stored one (${snapshotIndex})`,
    );
    // Raft restores a snapshot only when the log does not hold its entry, so any stored entry
    // after it belongs to a diverged history: the whole log goes, as in MemoryStorage.applySnapshot.
    snapshotIndex = snapshot.metadata.index;
    spans = [];
  }

  let entries = batch.entries;
  for (let i = 1; i < entries.length; i++) {
    assert(
      entries[i]!.index === entries[i - 1]!.index + 1,
      () => `persist batch not contiguous: ${entries[i - 1]!.index} then ${entries[i]!.index}`,
    );
    assert(
      entries[i]!.term >= entries[i - 1]!.term,
      () => `persist batch terms decrease at ${entries[i]!.index}`,
    );
  }
  if (entries.length > 0 && entries[0]!.index <= snapshotIndex) {
    entries = entries.slice(snapshotIndex + 1 - entries[0]!.index);
  }

  let deleteFrom: number | undefined;
  let trim: SegmentChanges['trim'];
  let lastIndex = lastIndexOfSpans(snapshotIndex, spans);
  // The durable commit index never goes back: saveSnapshot may have raised it past the commit
  // index the node last wrote (a node's snapshot may cover entries whose commit it has not
  // written yet, see planSaveSnapshot).
  const hardState =
    batch.hardState === undefined
      ? shape.hardState
      : batch.hardState.commit >= shape.hardState.commit
        ? batch.hardState
        : { ...batch.hardState, commit: shape.hardState.commit };
  if (entries.length > 0) {
    const first = entries[0]!.index;
    const last = lastIndex;
    assert(
      first <= last + 1,
      () => `persist would leave a gap: log ends at ${last}, batch starts at ${first}`,
    );
    if (first <= last) {
      // Raft only ever overwrites uncommitted entries (etcd panics on a conflict with a committed
      // one); losing a durable committed entry here would break safety silently.
      assert(
        snapshot !== undefined || first > shape.hardState.commit,
        () =>
          `persist would overwrite committed entries from ${first} (commit ${shape.hardState.commit})`,
      );
      for (const s of spans) {
        if (s.firstIndex >= first) {
          deleteFrom = first;
          break;
        }
        if (s.lastIndex >= first) trim = { firstIndex: s.firstIndex, keepThrough: first - 1 };
      }
    }
    lastIndex = entries[entries.length - 1]!.index;
    const lastTerm = entries[entries.length - 1]!.term;
    assert(
      hardState.term >= lastTerm,
      () => `persisting entries of term ${lastTerm} with hard state term ${hardState.term}`,
    );
  }
  // What load() would reject must not be written: the commit index lies within the log.
  assert(
    hardState.commit >= snapshotIndex && hardState.commit <= lastIndex,
    () =>
      `hard state commit ${hardState.commit} outside [${snapshotIndex}, ${lastIndex}] after persist`,
  );

  const clearAll = snapshot !== undefined && shape.spans.length > 0;
  const append = entries.length > 0 ? entries : undefined;
  if (snapshot === undefined && append === undefined && batch.hardState === undefined)
    return undefined;
  let mergeFrom: number | undefined;
  if (
    append !== undefined &&
    snapshot === undefined &&
    deleteFrom === undefined &&
    trim === undefined
  ) {
    mergeFrom = mergeStart(spans, append, policy);
  }
  return {
    snapshot,
    segments: { clearAll, deleteFrom, trim, append, mergeFrom },
    hardState: batch.hardState === undefined ? undefined : hardState,
  };
}

/** mergeStart returns the key of the run of small tail segments to merge with `append`, if due. */
function mergeStart(
  spans: readonly SegmentSpan[],
  append: readonly Entry[],
  policy: MergePolicy,
): number | undefined {
  if (policy.fanIn < 2 || append.length >= policy.fanIn) return undefined;
  if (encodedSegmentBytes(append) >= policy.smallBytes) return undefined;
  const want = policy.fanIn - 1;
  if (spans.length < want) return undefined;
  for (let i = spans.length - want; i < spans.length; i++) {
    if (!isSmall(spans[i]!, policy)) return undefined;
  }
  return spans[spans.length - want]!.firstIndex;
}

/** mergedBytes is the size of one segment holding the entries of segments of sizes `sizes`. */
export function mergedBytes(sizes: readonly number[]): number {
  let total = SEGMENT_FIXED_BYTES;
  for (const b of sizes) total += b - SEGMENT_FIXED_BYTES;
  return total;
}

/** CompactionPlan is what saveSnapshot writes: the snapshot and the segment deletions. */
export interface CompactionPlan {
  readonly snapshot: Snapshot;
  readonly segments: SegmentChanges;
  /** hardState: the durable hard state with its commit index raised to the snapshot's, if lower. */
  readonly hardState?: HardState | undefined;
}

/**
 * planSaveSnapshot decides what saving an application snapshot writes. A snapshot no newer than
 * the stored one is ignored (returns undefined): the application may have snapshotted while a
 * newer snapshot from the leader was being installed, which etcd also tolerates. Segments that
 * end at or before `compactIndex` are deleted; a segment straddling it stays whole.
 */
export function planSaveSnapshot(
  shape: LogShape,
  snapshot: Snapshot,
  compactIndex: LogIndex,
): CompactionPlan | undefined {
  const index = snapshot.metadata.index;
  if (index <= shape.snapshotIndex) return undefined;
  assert(
    compactIndex <= index,
    () => `compact index ${compactIndex} is after the snapshot index ${index}`,
  );
  assert(
    index <= lastIndexOf(shape),
    () => `snapshot ${index} is beyond the last index ${lastIndexOf(shape)}`,
  );
  // Everything up to an application snapshot is committed; the node need not have written that
  // commit index yet (it writes one only with entries or a new term or vote): raise it, so that
  // load() finds the commit index within the log.
  const hardState =
    index > shape.hardState.commit ? { ...shape.hardState, commit: logIndex(index) } : undefined;
  let deleteThrough: number | undefined;
  for (const s of shape.spans) {
    if (s.lastIndex > compactIndex) break;
    deleteThrough = s.firstIndex;
  }
  return { snapshot, segments: { clearAll: false, deleteThrough }, hardState };
}

/** SegmentOps build an implementation's segments when a plan is applied to its list. */
export interface SegmentOps<S extends SegmentSpan> {
  /** trim cuts `s` to end at `keepThrough`. */
  trim(s: S, keepThrough: number): S;
  /** make builds the new segment of `entries`, preceded by the entries of `merged` (often none). */
  make(entries: readonly Entry[], merged: readonly S[]): S;
}

/**
 * applySegmentChanges returns the segment list after `changes`. Used on IdbStorage's span mirror
 * (after the transaction committed) and on MemoryDurableStorage's segments.
 */
export function applySegmentChanges<S extends SegmentSpan>(
  spans: S[],
  changes: SegmentChanges,
  ops: SegmentOps<S>,
): S[] {
  let out = changes.clearAll ? [] : spans;
  const { deleteThrough, deleteFrom, trim, append, mergeFrom } = changes;
  if (deleteThrough !== undefined) out = out.filter((s) => s.firstIndex > deleteThrough);
  if (deleteFrom !== undefined) out = out.filter((s) => s.firstIndex < deleteFrom);
  if (trim !== undefined) {
    out = out.map((s) => (s.firstIndex === trim.firstIndex ? ops.trim(s, trim.keepThrough) : s));
  }
  if (append !== undefined) {
    let merged: S[] = [];
    if (mergeFrom !== undefined) {
      merged = out.filter((s) => s.firstIndex >= mergeFrom);
      out = out.filter((s) => s.firstIndex < mergeFrom);
    }
    if (out === spans) out = spans.slice();
    out.push(ops.make(append, merged));
  }
  return out;
}

/**
 * applyPlan updates `shape` after `plan` was made durable (for IdbStorage: after its transaction
 * committed, never before, so a failed write leaves the mirror as the disk is).
 */
export function applyPlan<S extends SegmentSpan>(
  shape: LogShape<S>,
  plan: PersistPlan | CompactionPlan,
  ops: SegmentOps<S>,
): void {
  if (plan.snapshot !== undefined) shape.snapshotIndex = plan.snapshot.metadata.index;
  if ('hardState' in plan && plan.hardState !== undefined) shape.hardState = plan.hardState;
  shape.spans = applySegmentChanges(shape.spans, plan.segments, ops);
}

/** StoredSegment is a decoded segment record with the key it was stored under and its size. */
export interface StoredSegment {
  readonly key: number;
  readonly entries: readonly Entry[];
  readonly bytes: number;
}

/** StoredRecords is everything load() read, decoded and checksummed but not yet cross-checked. */
export interface StoredRecords {
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  /** segments in ascending key order. */
  readonly segments: readonly StoredSegment[];
}

export const emptySnapshot: Snapshot = {
  metadata: { index: logIndex(0), term: term(0), confState: emptyConfState },
  data: new Uint8Array(0),
};

const segmentsLocation = (key: number): string => `segments[${key}]`;
export const hardStateLocation = 'meta[hardState]';
export const snapshotLocation = 'snapshot[latest]';

/**
 * assembleLoadedState checks that the records fit together and builds the state a peer starts
 * from, plus the shape to plan later writes with. It throws StorageCorruptionError, naming a
 * record, when segments have a gap or overlap, a segment is stored under the wrong key, terms
 * decrease, the log does not reach or join the snapshot, or the hard state's commit lies outside
 * [snapshot index, last index] or its term is below the last entry's (the bounds the core would
 * otherwise assert on at start).
 */
export function assembleLoadedState(records: StoredRecords): {
  state: LoadedState;
  shape: LogShape;
} {
  const snapshot = records.snapshot ?? emptySnapshot;
  const hardState = records.hardState ?? emptyHardState;
  const snapIndex = snapshot.metadata.index;
  const spans: SegmentSpan[] = [];
  const entries: Entry[] = [];
  let lastTerm: number = snapshot.metadata.term;
  let prev: SegmentSpan | undefined;
  for (const seg of records.segments) {
    const where = segmentsLocation(seg.key);
    const first = seg.entries[0];
    if (first === undefined) throw new StorageCorruptionError(where, 'empty segment');
    if (first.index !== seg.key) {
      throw new StorageCorruptionError(
        where,
        `stored under key ${seg.key} but starts at index ${first.index}`,
      );
    }
    const span = {
      firstIndex: seg.key,
      lastIndex: seg.key + seg.entries.length - 1,
      bytes: seg.bytes,
    };
    if (prev === undefined) {
      if (span.firstIndex > snapIndex + 1) {
        throw new StorageCorruptionError(
          where,
          `gap: the log starts at ${span.firstIndex}, after the snapshot at ${snapIndex}`,
        );
      }
    } else if (span.firstIndex !== prev.lastIndex + 1) {
      const what = span.firstIndex <= prev.lastIndex ? 'overlaps' : 'leaves a gap after';
      throw new StorageCorruptionError(
        where,
        `${what} ${segmentsLocation(prev.firstIndex)}, which ends at ${prev.lastIndex}`,
      );
    }
    for (const e of seg.entries) {
      if (e.index < snapIndex) continue;
      if (e.index === snapIndex) {
        if (e.term !== snapshot.metadata.term) {
          throw new StorageCorruptionError(
            where,
            `entry ${e.index} has term ${e.term} but ${snapshotLocation} has term ${snapshot.metadata.term}`,
          );
        }
        continue;
      }
      if (e.term < lastTerm) {
        throw new StorageCorruptionError(
          where,
          `term decreases at entry ${e.index} (${e.term} after ${lastTerm})`,
        );
      }
      lastTerm = e.term;
      entries.push(e);
    }
    spans.push(span);
    prev = span;
  }
  if (prev !== undefined && prev.lastIndex < snapIndex) {
    throw new StorageCorruptionError(
      segmentsLocation(prev.firstIndex),
      `the log ends at ${prev.lastIndex}, before the snapshot at ${snapIndex}`,
    );
  }
  const lastIndex = entries.length > 0 ? entries[entries.length - 1]!.index : snapIndex;
  if (hardState.commit < snapIndex) {
    throw new StorageCorruptionError(
      hardStateLocation,
      `commit ${hardState.commit} is before the snapshot index ${snapIndex}`,
    );
  }
  if (hardState.commit > lastIndex) {
    throw new StorageCorruptionError(
      hardStateLocation,
      `commit ${hardState.commit} is beyond the last index ${lastIndex}`,
    );
  }
  if (hardState.term < lastTerm) {
    throw new StorageCorruptionError(
      hardStateLocation,
      `term ${hardState.term} is below the last log term ${lastTerm}`,
    );
  }
  return {
    state: { hardState, snapshot, entries },
    shape: { snapshotIndex: snapIndex, hardState, spans },
  };
}
