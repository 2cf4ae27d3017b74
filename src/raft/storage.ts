import { assert } from './assert.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import { limitSize } from './util.js';
import {
  emptyConfState,
  emptyHardState,
  logIndex,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type Snapshot,
  type Term,
} from './types.js';

/**
 * Storage is the core's read view of a peer's stable state. Everything
 * returned must already be durable. Errors are CompactedError (index before
 * firstIndex) and UnavailableError (index after lastIndex), thrown.
 *
 * The core only reads; the application writes (after handling a Ready) through
 * its concrete storage (MemoryStorage here, IndexedDB-backed in the browser).
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** entries returns entries in [lo, hi), at most maxSizeBytes (but at least one). */
  entries(lo: LogIndex, hi: LogIndex, maxSizeBytes: number): Entry[];
  /** term returns the term of entry i, for i in [firstIndex-1, lastIndex]. */
  term(i: LogIndex): Term;
  lastIndex(): LogIndex;
  /** firstIndex is the index of the first entry possibly available via entries (older ones are compacted). */
  firstIndex(): LogIndex;
  /** snapshot returns the most recent snapshot. */
  snapshot(): Snapshot;
}

/**
 * MemoryStorage keeps the stable state in memory. Invariant: `ents[0]` is a
 * dummy entry at the snapshot index holding the snapshot term, so
 * `ents[i].index === ents[0].index + i`.
 */
export class MemoryStorage implements Storage {
  hardState: HardState = emptyHardState;
  private snap: Snapshot;
  private ents: Entry[];

  constructor() {
    this.snap = {
      metadata: { index: logIndex(0), term: term(0), confState: emptyConfState },
      data: new Uint8Array(0),
    };
    this.ents = [{ term: term(0), index: logIndex(0), type: 'normal', data: new Uint8Array(0) }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  entries(lo: LogIndex, hi: LogIndex, maxSizeBytes: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError();
    return limitSize(this.ents.slice(lo - off, hi - off), maxSizeBytes);
  }

  term(i: LogIndex): Term {
    const off = this.offset();
    if (i < off) throw new CompactedError();
    if (i - off >= this.ents.length) throw new UnavailableError();
    return this.ents[i - off]!.term;
  }

  lastIndex(): LogIndex {
    return logIndex(this.offset() + this.ents.length - 1);
  }

  firstIndex(): LogIndex {
    return logIndex(this.offset() + 1);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** applySnapshot replaces the whole stable state with a snapshot (follower install). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw new SnapshotOutOfDateError();
    this.snap = snap;
    this.ents = [
      { term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array(0) },
    ];
  }

  /**
   * createSnapshot records a snapshot of the application at applied index `i`
   * (which must be ≤ lastIndex). Compaction is a separate call.
   */
  createSnapshot(i: LogIndex, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    // Compacted past i (without a snapshot there): its term is gone.
    if (i < this.offset()) throw new CompactedError();
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    const t = this.ents[i - this.offset()]!.term;
    this.snap = {
      metadata: { index: i, term: t, confState: cs ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** compact discards entries before `compactIndex` (it becomes the dummy entry). */
  compact(compactIndex: LogIndex): void {
    const off = this.offset();
    if (compactIndex <= off) throw new CompactedError();
    assert(
      compactIndex <= this.lastIndex(),
      `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`,
    );
    const i = compactIndex - off;
    const dummy = this.ents[i]!;
    this.ents = [
      { term: dummy.term, index: dummy.index, type: 'normal', data: new Uint8Array(0) },
      ...this.ents.slice(i + 1),
    ];
  }

  /** append adds entries, truncating any conflicting suffix. Entries before firstIndex are ignored. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    let ents = entries;
    if (first > entries[0]!.index) ents = entries.slice(first - entries[0]!.index);
    const offset = ents[0]!.index - this.offset();
    assert(offset <= this.ents.length, () => `missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    // Truncate and append in place (entries() hands out copies): rebuilding
    // the array made every append O(stored entries), O(n²) between compactions.
    this.ents.length = offset;
    for (const e of ents) this.ents.push(e);
  }
}
