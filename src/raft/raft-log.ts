import { assert } from './assert.js';
import { CompactedError } from './errors.js';
import { Unstable } from './log-unstable.js';
import type { Storage } from './storage.js';
import { limitSize } from './util.js';
import { logIndex, term, type Entry, type LogIndex, type Snapshot, type Term } from './types.js';

/**
 * RaftLog is the peer's view of the log: stable entries in Storage followed by
 * unstable ones in memory. Invariant: applied ≤ committed ≤ lastIndex, and
 * firstIndex - 1 ≤ applied (nothing compacted that is not applied).
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** committed is the highest index known to be stored on a quorum. */
  committed: LogIndex;
  /** applied is the highest index handed to the application. */
  applied: LogIndex;
  /** maxNextEntsSizeBytes caps the committed entries returned by nextEnts. */
  readonly maxNextEntsSizeBytes: number;

  constructor(storage: Storage, maxNextEntsSizeBytes: number) {
    this.storage = storage;
    this.maxNextEntsSizeBytes = maxNextEntsSizeBytes;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(logIndex(last + 1));
    this.committed = logIndex(first - 1);
    this.applied = logIndex(first - 1);
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * maybeAppend appends entries sent by a leader after (index, logTerm) if the
   * log matches there, truncating conflicts (§5.3). Returns the new last index
   * covered by the message, or undefined on a mismatch.
   */
  maybeAppend(
    index: LogIndex,
    logTerm: Term,
    committed: LogIndex,
    ents: readonly Entry[],
  ): LogIndex | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = logIndex(index + ents.length);
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, () => `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(logIndex(Math.min(committed, lastNew)));
    return lastNew;
  }

  append(ents: readonly Entry[]): LogIndex {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, () => `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * findConflict returns the index of the first entry of `ents` whose term
   * differs from ours (or that we lack), or 0 if all are already present.
   */
  findConflict(ents: readonly Entry[]): LogIndex {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return logIndex(0);
  }

  /**
   * findConflictByTerm returns the largest index ≤ `index` whose term is ≤
   * `t`, with that term: the follower's hint for fast log backtracking.
   */
  findConflictByTerm(index: LogIndex, t: Term): { index: LogIndex; term: Term } {
    let i = index;
    for (;;) {
      const ti = this.termOrUndefined(i);
      if (ti === undefined) return { index: i, term: term(0) };
      if (ti <= t) return { index: i, term: ti };
      if (i === 0) return { index: i, term: ti };
      i = logIndex(i - 1);
    }
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** nextEnts returns committed entries not yet applied, at most maxNextEntsSizeBytes. */
  nextEnts(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) {
      return this.slice(logIndex(off), logIndex(this.committed + 1), this.maxNextEntsSizeBytes);
    }
    return [];
  }

  hasNextEnts(): boolean {
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined && this.unstable.snapshot.metadata.index !== 0;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): LogIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: LogIndex): void {
    if (this.committed < toCommit) {
      assert(
        this.lastIndex() >= toCommit,
        () => `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`,
      );
      this.committed = toCommit;
    }
  }

  appliedTo(i: LogIndex): void {
    if (i === 0) return;
    assert(
      this.committed >= i && i >= this.applied,
      () => `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
    );
    this.applied = i;
  }

  stableTo(i: LogIndex, t: Term): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: LogIndex): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): Term {
    const t = this.termOrUndefined(this.lastIndex());
    assert(t !== undefined, 'unexpected error when getting the last term');
    return t;
  }

  /** termOrUndefined is the term of entry i, or undefined when compacted or not present. */
  termOrUndefined(i: LogIndex): Term | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError) return undefined;
      throw err;
    }
  }

  /** zeroTermOnOutOfBounds is etcd's convention for terms of missing entries. */
  term(i: LogIndex): Term {
    return this.termOrUndefined(i) ?? term(0);
  }

  /** entries returns entries from i to the end, at most maxSizeBytes; throws CompactedError. */
  entries(i: LogIndex, maxSizeBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, logIndex(this.lastIndex() + 1), maxSizeBytes);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
  }

  /** isUpToDate: is a log ending at (lasti, t) at least as up to date as ours (§5.4.1)? */
  isUpToDate(lasti: LogIndex, t: Term): boolean {
    const lt = this.lastTerm();
    return t > lt || (t === lt && lasti >= this.lastIndex());
  }

  matchTerm(i: LogIndex, t: Term): boolean {
    const ti = this.termOrUndefined(i);
    return ti !== undefined && ti === t;
  }

  /**
   * maybeCommit commits up to maxIndex if that entry is of term `t` (the
   * leader's current term: Raft §5.4.2). Returns whether commit advanced.
   */
  maybeCommit(maxIndex: LogIndex, t: Term): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === t) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** slice returns entries in [lo, hi), at most maxSizeBytes; throws CompactedError if lo is compacted. */
  slice(lo: LogIndex, hi: LogIndex, maxSizeBytes: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uoff = this.unstable.offset;
    if (lo < uoff) {
      const stored = this.storage.entries(lo, logIndex(Math.min(hi, uoff)), maxSizeBytes);
      // Storage returned fewer than asked: the size limit was hit.
      if (stored.length < Math.min(hi, uoff) - lo) return stored;
      ents = stored;
    }
    if (hi > uoff) {
      const u = this.unstable.slice(logIndex(Math.max(lo, uoff)), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSizeBytes);
  }

  private mustCheckOutOfBounds(lo: LogIndex, hi: LogIndex): void {
    assert(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError();
    const length = this.lastIndex() + 1 - fi;
    assert(hi <= fi + length, () => `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}
