// The search's memory (Lowe's memoization, as in Porcupine): the set of placed operations as a
// bitset with an incrementally kept Zobrist hash, and a cache of the (placed set, model state,
// S5 obligation) triples already explored. Two paths reaching the same triple have the same
// future, so the second is cut.
import { stateEquals, type ModelState } from './etcd-model';

/** A deterministic 32-bit value per operation for Zobrist-hashing the placed set. */
function zobrist(i: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1) ^ 0x6a09e667;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

function obligationHash(lease: number): number {
  return lease === 0 ? 0 : Math.imul(lease ^ 0x5f356495, 0x2c1b3c6d) >>> 0;
}

interface CacheEntry {
  /** Index of the first word of the placed set that is not all ones... */
  readonly offset: number;
  /** ...and the words from there on (the all-ones prefix is implied: ok operations come first,
   * in call order, so most of a deep path's placed set is that prefix). */
  readonly words: Uint32Array;
  readonly state: ModelState;
  /** The lease the next operation must be about (S5 in search.ts), 0 for none. */
  readonly obligation: number;
}

/** Visited tracks the placed set and remembers explored triples. */
export class Visited {
  private readonly n: number;
  private readonly placed: Uint32Array;
  private readonly zob: Uint32Array;
  private placedHash = 0;
  private readonly cache = new Map<number, CacheEntry[]>();

  constructor(n: number) {
    this.n = n;
    this.placed = new Uint32Array(Math.ceil(n / 32) + 1);
    this.zob = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.zob[i] = zobrist(i);
  }

  setPlaced(i: number, on: boolean): void {
    const word = i >>> 5;
    const bit = 1 << (i & 31);
    this.placed[word] = on ? this.placed[word]! | bit : this.placed[word]! & ~bit;
    this.placedHash = (this.placedHash ^ this.zob[i]!) >>> 0;
  }

  isPlaced(i: number): boolean {
    return ((this.placed[i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  private firstNotFull(): number {
    const full = this.n >>> 5; // words entirely inside 0..n-1
    let w = 0;
    while (w < full && this.placed[w] === 0xffffffff) w++;
    return w;
  }

  private key(state: ModelState, obligation: number): number {
    return (this.placedHash ^ state.hash ^ obligationHash(obligation)) >>> 0;
  }

  /** has: whether (current placed set, state, obligation) was recorded. */
  has(state: ModelState, obligation: number): boolean {
    const bucket = this.cache.get(this.key(state, obligation));
    if (bucket === undefined) return false;
    const offset = this.firstNotFull();
    for (const e of bucket) {
      if (e.offset !== offset || e.obligation !== obligation || !stateEquals(e.state, state)) {
        continue;
      }
      let same = true;
      for (let k = 0; k < e.words.length; k++) {
        if (e.words[k] !== this.placed[offset + k]) {
          same = false;
          break;
        }
      }
      if (same) return true;
    }
    return false;
  }

  /** remember records (current placed set, state, obligation); false if it was there. */
  remember(state: ModelState, obligation: number): boolean {
    if (this.has(state, obligation)) return false;
    const key = this.key(state, obligation);
    const offset = this.firstNotFull();
    const entry: CacheEntry = { offset, words: this.placed.slice(offset), state, obligation };
    const bucket = this.cache.get(key);
    if (bucket === undefined) this.cache.set(key, [entry]);
    else bucket.push(entry);
    return true;
  }
}
