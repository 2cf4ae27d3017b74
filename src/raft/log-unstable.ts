import { assert } from './assert.js';
import { logIndex, type Entry, type LogIndex, type Snapshot, type Term } from './types.js';

/**
 * Unstable holds entries (and at most one incoming snapshot) that are not yet
 * persisted. Invariant: `entries[i].index === offset + i`; when `snapshot` is
 * set, `offset === snapshot.metadata.index + 1` at the time it was restored.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: LogIndex;

  constructor(offset: LogIndex) {
    this.offset = offset;
  }

  /** maybeFirstIndex is the first index if an unstable snapshot is pending. */
  maybeFirstIndex(): LogIndex | undefined {
    return this.snapshot ? logIndex(this.snapshot.metadata.index + 1) : undefined;
  }

  /** maybeLastIndex is the last index known here (entries, else snapshot). */
  maybeLastIndex(): LogIndex | undefined {
    if (this.entries.length > 0) return logIndex(this.offset + this.entries.length - 1);
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  /** maybeTerm is the term of entry i if this holds it. */
  maybeTerm(i: LogIndex): Term | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** stableTo marks entries up to i (of term t) persisted, if they are still ours. */
  stableTo(i: LogIndex, t: Term): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined) return;
    // Only drop them if the entry at i was not overwritten meanwhile.
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = logIndex(i + 1);
    }
  }

  stableSnapTo(i: LogIndex): void {
    if (this.snapshot && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = logIndex(s.metadata.index + 1);
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0]!.index;
    if (first === this.offset + this.entries.length) {
      // In place: readers get slices, never this array, and a copy per
      // proposal made a batch of n proposals cost O(n²).
      for (const e of ents) this.entries.push(e);
    } else if (first <= this.offset) {
      // Replace everything unstable, starting earlier.
      this.offset = first;
      this.entries = ents.slice();
    } else {
      // Truncate to `first` then append.
      this.entries = this.slice(this.offset, first).concat(ents);
    }
  }

  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    assert(lo <= hi, () => `invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    assert(
      lo >= this.offset && hi <= upper,
      () => `unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
