// Mvcc: the multi-version key space (etcd's mvcc store and keyIndex, in memory).
//
// History is kept two ways, sharing the same KeyValue objects:
//  - per key (KeyEntry.revs): every retained version and tombstone, oldest first; a read at
//    revision r takes the newest version with modRevision <= r (binary search), absent if none
//    or if that is a tombstone (version 0).
//  - per revision (revLog): the changes of each revision from revLogBase to currentRevision, in
//    the order they were made (etcd's sub-revisions); watch catch-up reads it.
// Compaction at R keeps, per key, the newest version <= R unless it is a tombstone, plus all
// versions > R (etcd's keyIndex.compact); revLog keeps revisions >= R, and revision R keeps only
// what survived (so a watch from R sees R's puts but not its deletions, as etcd does).
//
// Writes happen inside beginWrite/endWrite: all writes of one command share one revision,
// which is bumped at the first actual change (a delete of nothing does not bump, as in etcd).
import type { KeyValue, LeaseId, RangeRequest, RangeResponse, Revision } from './types.js';
import {
  EMPTY_BYTES,
  NO_LEASE,
  SortOrder,
  SortTarget,
  bytesToLatin1,
  compareBytes,
  isFromKey,
} from './types.js';
import { KeyIndex, isLiveEntry, type KeyEntry } from './key-index.js';
import { KV_OVERHEAD_BYTES } from './quota.js';
import { assert } from './errors.js';

/** RevisionChanges: the changes made at one revision, with their key entries. */
export interface RevisionChanges {
  readonly kvs: KeyValue[];
  readonly entries: KeyEntry[];
}

/** KeySpan is a parsed key + rangeEnd: end undefined = single key, null = no upper bound. */
export interface KeySpan {
  readonly start: string;
  readonly end: string | null | undefined;
}

export function keySpan(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeySpan {
  const start = bytesToLatin1(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined };
  if (isFromKey(rangeEnd)) return { start, end: null };
  return { start, end: bytesToLatin1(rangeEnd) };
}

export function spanContains(s: KeySpan, keyStr: string): boolean {
  if (s.end === undefined) return keyStr === s.start;
  return keyStr >= s.start && (s.end === null || keyStr < s.end);
}

/** recordBytes is one retained version's share of usedBytes (quota.ts). */
export function recordBytes(kv: KeyValue): number {
  return KV_OVERHEAD_BYTES + kv.key.length + kv.value.length;
}

/** LeaseAttachments is how the store tells the lessor which keys a lease holds. */
export interface LeaseAttachments {
  attach(id: LeaseId, keyStr: string): void;
  detach(id: LeaseId, keyStr: string): void;
}

/** versionAt is e's version visible at rev, or undefined if absent or deleted at rev. */
export function versionAt(e: KeyEntry, rev: number): KeyValue | undefined {
  const revs = e.revs;
  const last = revs[revs.length - 1];
  if (last === undefined) return undefined;
  if (last.modRevision <= rev) return last.version > 0 ? last : undefined;
  let lo = 0;
  let hi = revs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]!.modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return undefined;
  const kv = revs[lo - 1]!;
  return kv.version > 0 ? kv : undefined;
}

export class Mvcc {
  index = new KeyIndex();
  currentRevision = 1;
  /** compactRevision: etcd's compactMainRev, -1 until the first compaction. */
  compactRevision = -1;
  revLogBase = 2;
  revLog: RevisionChanges[] = [];
  usedKvBytes = 0;
  private writing = false;
  private pending: RevisionChanges | null = null;

  constructor(private readonly leases: LeaseAttachments) {}

  // ---- writes ----

  beginWrite(): void {
    assert(!this.writing, 'nested beginWrite');
    this.writing = true;
    this.pending = null;
  }

  /** endWrite closes the write; returns the revision's changes if anything changed. */
  endWrite(): RevisionChanges | null {
    assert(this.writing, 'endWrite without beginWrite');
    this.writing = false;
    const p = this.pending;
    this.pending = null;
    return p;
  }

  private changes(): RevisionChanges {
    assert(this.writing, 'write outside beginWrite/endWrite');
    if (this.pending === null) {
      this.currentRevision++;
      this.pending = { kvs: [], entries: [] };
      assert(this.revLogBase + this.revLog.length === this.currentRevision, 'revLog out of step');
      this.revLog.push(this.pending);
    }
    return this.pending;
  }

  /** latest is the current live version of keyStr. */
  latest(keyStr: string): KeyValue | undefined {
    const e = this.index.get(keyStr);
    if (e === undefined) return undefined;
    const last = e.revs[e.revs.length - 1];
    return last !== undefined && last.version > 0 ? last : undefined;
  }

  /**
   * put writes a version of key. The key bytes are copied when the key is new; value is stored
   * as given (the caller passes bytes nobody else will change).
   */
  put(key: Uint8Array, keyStr: string, value: Uint8Array, lease: LeaseId): KeyValue {
    const ch = this.changes();
    const rev = this.currentRevision as Revision;
    let e = this.index.get(keyStr);
    const isNew = e === undefined;
    if (e === undefined) e = { key: key.slice(), keyStr, revs: [] };
    const prev = e.revs[e.revs.length - 1];
    const wasLive = prev !== undefined && prev.version > 0;
    const kv: KeyValue = {
      key: e.key,
      value,
      createRevision: wasLive ? prev.createRevision : rev,
      modRevision: rev,
      version: wasLive ? prev.version + 1 : 1,
      lease,
    };
    e.revs.push(kv);
    if (isNew) this.index.insert(e);
    else if (!wasLive) this.index.adjustLive(e, 1);
    ch.kvs.push(kv);
    ch.entries.push(e);
    this.usedKvBytes += recordBytes(kv);
    if (wasLive && prev.lease !== NO_LEASE) this.leases.detach(prev.lease, keyStr);
    if (lease !== NO_LEASE) this.leases.attach(lease, keyStr);
    return kv;
  }

  /** deleteRange deletes the live keys of span, in key order; returns how many. */
  deleteRange(span: KeySpan): number {
    const victims: KeyEntry[] = [];
    if (span.end === undefined) {
      const e = this.index.get(span.start);
      if (e !== undefined && isLiveEntry(e)) victims.push(e);
    } else {
      this.index.forEachInRange(span.start, span.end, (e) => {
        if (isLiveEntry(e)) victims.push(e);
      });
    }
    for (const e of victims) this.deleteEntry(e);
    return victims.length;
  }

  /** deleteEntry writes a tombstone for a live key. */
  deleteEntry(e: KeyEntry): void {
    const prev = e.revs[e.revs.length - 1];
    assert(prev !== undefined && prev.version > 0, 'deleteEntry of a deleted key');
    const ch = this.changes();
    const kv: KeyValue = {
      key: e.key,
      value: EMPTY_BYTES,
      createRevision: 0 as Revision,
      modRevision: this.currentRevision as Revision,
      version: 0,
      lease: NO_LEASE,
    };
    e.revs.push(kv);
    this.index.adjustLive(e, -1);
    ch.kvs.push(kv);
    ch.entries.push(e);
    this.usedKvBytes += recordBytes(kv);
    if (prev.lease !== NO_LEASE) this.leases.detach(prev.lease, e.keyStr);
  }

  // ---- reads ----

  /**
   * rangeKeys is etcd's mvcc range: the versions visible at rev (already validated) in key
   * order, at most limit of them (limit <= 0: all), and count of all of them.
   */
  rangeKeys(span: KeySpan, rev: number, limit: number): { kvs: KeyValue[]; count: number } {
    const kvs: KeyValue[] = [];
    if (span.end === undefined) {
      const e = this.index.get(span.start);
      const kv = e === undefined ? undefined : versionAt(e, rev);
      if (kv !== undefined) kvs.push(kv);
      return { kvs, count: kvs.length };
    }
    const max = limit > 0 ? limit : Infinity;
    if (rev === this.currentRevision) {
      // The index counts live keys per chunk: only the returned ones are visited.
      if (max !== Infinity) {
        this.index.forEachInRange(span.start, span.end, (e) => {
          const last = e.revs[e.revs.length - 1]!;
          if (last.version > 0) kvs.push(last);
          return kvs.length < max;
        });
        return { kvs, count: this.index.countLiveInRange(span.start, span.end) };
      }
      this.index.forEachInRange(span.start, span.end, (e) => {
        const last = e.revs[e.revs.length - 1]!;
        if (last.version > 0) kvs.push(last);
      });
      return { kvs, count: kvs.length };
    }
    let count = 0;
    this.index.forEachInRange(span.start, span.end, (e) => {
      const kv = versionAt(e, rev);
      if (kv !== undefined) {
        count++;
        if (kvs.length < max) kvs.push(kv);
      }
    });
    return { kvs, count };
  }

  /**
   * range answers a RangeRequest whose key is non-empty and whose revision was validated by
   * checkRevision, with etcd's applier semantics: count is taken before the min/max filters and
   * before limit; with a sort or a filter everything is fetched, filtered, sorted (stable), then
   * cut to limit; `more` says the cut removed something; header.revision is the current one.
   */
  range(req: RangeRequest): RangeResponse {
    const rev =
      req.revision !== undefined && req.revision > 0 ? req.revision : this.currentRevision;
    const limit = req.limit ?? 0;
    const minMod = req.minModRevision ?? 0;
    const maxMod = req.maxModRevision ?? 0;
    const minCreate = req.minCreateRevision ?? 0;
    const maxCreate = req.maxCreateRevision ?? 0;
    let order = req.sortOrder ?? SortOrder.NONE;
    const target = req.sortTarget ?? SortTarget.KEY;
    const fetchAll =
      order !== SortOrder.NONE ||
      minMod !== 0 ||
      maxMod !== 0 ||
      minCreate !== 0 ||
      maxCreate !== 0;
    const span = keySpan(req.key, req.rangeEnd);
    const header = { revision: this.currentRevision as Revision };
    if (req.countOnly === true) {
      const { count } = this.rangeKeys(span, rev, 1);
      return { header, kvs: [], more: false, count };
    }
    // One extra tells whether there are more than limit.
    const fetched = this.rangeKeys(span, rev, !fetchAll && limit > 0 ? limit + 1 : 0);
    let kvs = fetched.kvs;
    if (maxMod !== 0) kvs = kvs.filter((kv) => kv.modRevision <= maxMod);
    if (minMod !== 0) kvs = kvs.filter((kv) => kv.modRevision >= minMod);
    if (maxCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision <= maxCreate);
    if (minCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision >= minCreate);
    // etcd sorts ascending by default when the target is not the key (results are already in
    // key order). Ties keep key order (Array.prototype.sort is stable): etcd's Go sort agrees
    // up to 12 results (insertion sort) and may order ties differently beyond.
    if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
    if (order !== SortOrder.NONE) {
      const cmp = sortComparator(target);
      const sign = order === SortOrder.DESCEND ? -1 : 1;
      kvs = kvs === fetched.kvs ? kvs.slice() : kvs;
      kvs.sort((a, b) => sign * cmp(a, b));
    }
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
    return { header, kvs, more, count: fetched.count };
  }

  /** checkRevision is etcd's revision check for reads: 'future', 'compacted' or ok. */
  checkRevision(rev: number | undefined): 'ok' | 'future' | 'compacted' {
    const r = rev ?? 0;
    if (r > this.currentRevision) return 'future';
    if (r <= 0) return 'ok';
    return r < this.compactRevision ? 'compacted' : 'ok';
  }

  // ---- compaction ----

  /** compact drops history below rev (validated: compactRevision < rev <= currentRevision). */
  compact(rev: number): void {
    assert(!this.writing, 'compact during a write');
    assert(
      rev > this.compactRevision && rev <= this.currentRevision,
      'compact revision not validated',
    );
    const upto = Math.min(rev, this.revLogBase + this.revLog.length - 1);
    // Only keys changed since the last compaction can have versions to drop: every other key
    // holds a single version that an earlier compaction kept, and keeps it.
    const touched = new Set<KeyEntry>();
    for (let r = this.revLogBase; r <= upto; r++) {
      for (const e of this.revLog[r - this.revLogBase]!.entries) touched.add(e);
    }
    for (const e of touched) this.pruneEntry(e, rev);
    if (rev >= this.revLogBase) {
      this.revLog = this.revLog.slice(rev - this.revLogBase);
      this.revLogBase = rev;
      const at = this.revLog[0];
      if (at !== undefined) {
        // Revision rev keeps only the versions that survived: the newest of their key at rev.
        const kvs: KeyValue[] = [];
        const entries: KeyEntry[] = [];
        for (let i = 0; i < at.kvs.length; i++) {
          const e = at.entries[i]!;
          if (e.revs[0] === at.kvs[i]) {
            kvs.push(at.kvs[i]!);
            entries.push(e);
          }
        }
        this.revLog[0] = { kvs, entries };
      }
    }
    this.compactRevision = rev;
  }

  /** checkInvariants asserts history invariants (tests call it through KvStore.checkInvariants). */
  checkInvariants(): void {
    let used = 0;
    const inLog = new Set<KeyValue>();
    for (const ch of this.revLog) for (const kv of ch.kvs) inLog.add(kv);
    this.index.forEach((e) => {
      assert(e.revs.length > 0, 'indexed key without history');
      for (let i = 0; i < e.revs.length; i++) {
        const kv = e.revs[i]!;
        assert(kv.key === e.key, 'version key is not its entry key');
        assert(i === 0 || e.revs[i - 1]!.modRevision <= kv.modRevision, 'versions out of order');
        assert(kv.modRevision <= this.currentRevision, 'version from the future');
        assert(
          kv.modRevision >= this.revLogBase ? inLog.has(kv) : kv.version > 0,
          'version missing from revLog',
        );
        if (kv.version > 0)
          assert(kv.createRevision <= kv.modRevision, 'createRevision after modRevision');
        used += recordBytes(kv);
      }
    });
    assert(used === this.usedKvBytes, `usedKvBytes ${this.usedKvBytes} != ${used}`);
    assert(
      this.revLogBase + this.revLog.length === this.currentRevision + 1,
      'revLog does not end at the current revision',
    );
    assert(
      this.revLogBase === Math.max(2, this.compactRevision),
      'revLogBase is not max(2, compactRevision)',
    );
  }

  private pruneEntry(e: KeyEntry, rev: number): void {
    const revs = e.revs;
    let keepFrom = 0;
    while (keepFrom < revs.length && revs[keepFrom]!.modRevision <= rev) keepFrom++;
    // keepFrom is now one past the newest version <= rev; keep that one unless it is a tombstone.
    if (keepFrom === 0) return;
    const newest = revs[keepFrom - 1]!;
    if (newest.version > 0) keepFrom--;
    if (keepFrom === 0) return;
    for (let i = 0; i < keepFrom; i++) this.usedKvBytes -= recordBytes(revs[i]!);
    e.revs = revs.slice(keepFrom);
    if (e.revs.length === 0) this.index.remove(e);
  }
}

function sortComparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.KEY:
      return (a, b) => compareBytes(a.key, b.key);
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => compareBytes(a.value, b.value);
  }
}
