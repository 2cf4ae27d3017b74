// KeyIndex: every key that has retained history, in unsigned byte order, with point lookup.
//
// Structure: a hash map (point lookups) plus a sorted list split into chunks of at most
// CHUNK_MAX entries (the "sorted containers" layout: a B+tree of height two). Finding a key is
// two binary searches; inserting one is a splice into one chunk (<= 512 moves), never a shift of
// the whole key space. Each chunk counts its live keys (keys whose newest version is not a
// deletion), so the count etcd returns for a range at the current revision costs the chunks
// at both ends plus one addition per chunk in between, instead of a walk over every key: a
// prefix range with limit 100 over 100k keys reads about 100 entries.
//
// Keys are compared as latin1 strings (one UTF-16 code unit per byte), whose order is unsigned
// byte order. Invariants (checkInvariants): chunks non-empty and sorted across boundaries, live[i]
// equals the number of live entries of chunk i, map and chunks hold the same entries.
import type { KeyValue } from './types.js';
import { assert } from './errors.js';

/** KeyEntry is one key and its retained versions (tombstones included), oldest first. */
export interface KeyEntry {
  readonly key: Uint8Array;
  readonly keyStr: string;
  /** revs: in (modRevision, sub-revision) order; a tombstone has version 0. */
  revs: KeyValue[];
}

/** isLiveEntry: the newest version is not a deletion. */
export function isLiveEntry(e: KeyEntry): boolean {
  const last = e.revs[e.revs.length - 1];
  return last !== undefined && last.version > 0;
}

const CHUNK_MAX = 512;
const CHUNK_MERGE = CHUNK_MAX / 4;

export class KeyIndex {
  private readonly map = new Map<string, KeyEntry>();
  private chunks: KeyEntry[][] = [];
  private live: number[] = [];
  private liveTotal = 0;

  /** size is the number of keys with retained history (live or not). */
  get size(): number {
    return this.map.size;
  }
  /** liveCount is the number of keys whose newest version is live. */
  get liveCount(): number {
    return this.liveTotal;
  }

  get(keyStr: string): KeyEntry | undefined {
    return this.map.get(keyStr);
  }

  /** fromSorted builds an index from entries already in key order (restore). */
  static fromSorted(entries: readonly KeyEntry[]): KeyIndex {
    const ix = new KeyIndex();
    for (let i = 0; i < entries.length; i += CHUNK_MAX / 2) {
      const chunk = entries.slice(i, i + CHUNK_MAX / 2);
      let live = 0;
      for (const e of chunk) {
        ix.map.set(e.keyStr, e);
        if (isLiveEntry(e)) live++;
      }
      ix.chunks.push(chunk);
      ix.live.push(live);
      ix.liveTotal += live;
    }
    return ix;
  }

  /** chunkOf is the index of the first chunk whose last key is >= keyStr (chunks.length if none). */
  private chunkOf(keyStr: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid]!;
      if (c[c.length - 1]!.keyStr < keyStr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** lowerBound is the position [chunk, offset] of the first key >= keyStr. */
  private lowerBound(keyStr: string): [number, number] {
    const ci = this.chunkOf(keyStr);
    if (ci === this.chunks.length) return [ci, 0];
    const c = this.chunks[ci]!;
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]!.keyStr < keyStr) lo = mid + 1;
      else hi = mid;
    }
    return [ci, lo];
  }

  /** insert adds a key that is not in the index yet. */
  insert(e: KeyEntry): void {
    assert(!this.map.has(e.keyStr), 'KeyIndex.insert of an existing key');
    this.map.set(e.keyStr, e);
    const liveDelta = isLiveEntry(e) ? 1 : 0;
    this.liveTotal += liveDelta;
    if (this.chunks.length === 0) {
      this.chunks.push([e]);
      this.live.push(liveDelta);
      return;
    }
    let [ci, i] = this.lowerBound(e.keyStr);
    if (ci === this.chunks.length) {
      ci = this.chunks.length - 1;
      i = this.chunks[ci]!.length;
    }
    const c = this.chunks[ci]!;
    c.splice(i, 0, e);
    this.live[ci] = this.live[ci]! + liveDelta;
    if (c.length > CHUNK_MAX) {
      const right = c.splice(CHUNK_MAX / 2);
      const rightLive = countLiveIn(right, 0, right.length);
      this.chunks.splice(ci + 1, 0, right);
      this.live.splice(ci + 1, 0, rightLive);
      this.live[ci] = this.live[ci]! - rightLive;
    }
  }

  /** remove takes a key out of the index (after compaction dropped all its history). */
  remove(e: KeyEntry): void {
    assert(this.map.get(e.keyStr) === e, 'KeyIndex.remove of an unknown key');
    this.map.delete(e.keyStr);
    const [ci, i] = this.lowerBound(e.keyStr);
    const c = this.chunks[ci];
    assert(c !== undefined && c[i] === e, 'KeyIndex.remove: entry not at its position');
    c.splice(i, 1);
    if (isLiveEntry(e)) {
      this.live[ci] = this.live[ci]! - 1;
      this.liveTotal--;
    }
    if (c.length === 0) {
      this.chunks.splice(ci, 1);
      this.live.splice(ci, 1);
    } else if (c.length < CHUNK_MERGE && ci + 1 < this.chunks.length) {
      const next = this.chunks[ci + 1]!;
      if (c.length + next.length <= CHUNK_MAX / 2) {
        c.push(...next);
        this.live[ci] = this.live[ci]! + this.live[ci + 1]!;
        this.chunks.splice(ci + 1, 1);
        this.live.splice(ci + 1, 1);
      }
    }
  }

  /** adjustLive records that e changed between live and deleted (delta +1 or -1). */
  adjustLive(e: KeyEntry, delta: 1 | -1): void {
    const ci = this.chunkOf(e.keyStr);
    assert(ci < this.chunks.length, 'KeyIndex.adjustLive of an unknown key');
    this.live[ci] = this.live[ci]! + delta;
    this.liveTotal += delta;
  }

  /**
   * forEachInRange calls fn for each key in [start, end) in order (end null: no upper bound)
   * until fn returns false.
   */
  forEachInRange(start: string, end: string | null, fn: (e: KeyEntry) => boolean | void): void {
    let [ci, i] = this.lowerBound(start);
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci]!;
      for (; i < c.length; i++) {
        const e = c[i]!;
        if (end !== null && e.keyStr >= end) return;
        if (fn(e) === false) return;
      }
    }
  }

  /** countLiveInRange counts live keys in [start, end) (end null: no upper bound). */
  countLiveInRange(start: string, end: string | null): number {
    const [ci, i] = this.lowerBound(start);
    const [cj, j] = end === null ? [this.chunks.length, 0] : this.lowerBound(end);
    if (ci > cj || (ci === cj && i >= j)) return 0;
    if (ci === cj) return countLiveIn(this.chunks[ci]!, i, j);
    let n = this.tailLive(ci, i);
    for (let k = ci + 1; k < cj; k++) n += this.live[k]!;
    if (cj < this.chunks.length) n += this.live[cj]! - this.tailLive(cj, j);
    return n;
  }

  /** tailLive counts live entries of chunk ci from offset i to its end. */
  private tailLive(ci: number, i: number): number {
    const c = this.chunks[ci]!;
    if (i === 0) return this.live[ci]!;
    // Scan the shorter side of the chunk.
    if (i > c.length / 2) return countLiveIn(c, i, c.length);
    return this.live[ci]! - countLiveIn(c, 0, i);
  }

  /** forEach visits every key in order. */
  forEach(fn: (e: KeyEntry) => void): void {
    for (const c of this.chunks) for (const e of c) fn(e);
  }

  /** checkInvariants asserts the structure's invariants (tests call it). */
  checkInvariants(): void {
    let prev: string | null = null;
    let total = 0;
    let n = 0;
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!;
      assert(c.length > 0 && c.length <= CHUNK_MAX, `chunk ${ci} has size ${c.length}`);
      for (const e of c) {
        assert(prev === null || prev < e.keyStr, 'keys out of order');
        assert(this.map.get(e.keyStr) === e, 'map and chunks disagree');
        prev = e.keyStr;
        n++;
      }
      const l = countLiveIn(c, 0, c.length);
      assert(l === this.live[ci], `live count of chunk ${ci} is ${this.live[ci]}, actual ${l}`);
      total += l;
    }
    assert(n === this.map.size, 'map has keys the chunks do not');
    assert(total === this.liveTotal, 'liveTotal is wrong');
  }
}

function countLiveIn(c: readonly KeyEntry[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (isLiveEntry(c[i]!)) n++;
  return n;
}
