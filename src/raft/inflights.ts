import { assert } from './assert.js';
import type { LogIndex } from './types.js';

/**
 * Inflights is the flow-control window of one follower: the last index and
 * byte size of each MsgApp sent and not yet acknowledged, oldest first. It is
 * full when either `sizeMsgs` messages or `maxBytes` bytes are in flight.
 */
export class Inflights {
  private readonly indexes: LogIndex[] = [];
  private readonly sizes: number[] = [];
  private start = 0;
  private bytesTotal = 0;

  constructor(
    readonly sizeMsgs: number,
    readonly maxBytes: number,
  ) {}

  clone(): Inflights {
    const c = new Inflights(this.sizeMsgs, this.maxBytes);
    for (let i = this.start; i < this.indexes.length; i++) c.add(this.indexes[i]!, this.sizes[i]!);
    return c;
  }

  /** add records a MsgApp whose last entry is `index`; indexes must increase. */
  add(index: LogIndex, bytes: number): void {
    assert(!this.full(), 'cannot add into a full inflights');
    const n = this.indexes.length;
    assert(n === this.start || this.indexes[n - 1]! < index, 'inflight indexes must increase');
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytesTotal += bytes;
  }

  /** freeLE frees every inflight message whose index is ≤ `to`. */
  freeLE(to: LogIndex): void {
    while (this.start < this.indexes.length && this.indexes[this.start]! <= to) {
      this.bytesTotal -= this.sizes[this.start]!;
      this.start++;
    }
    // Compact the backing arrays occasionally so they do not grow forever.
    if (this.start > 64 && this.start * 2 > this.indexes.length) {
      this.indexes.splice(0, this.start);
      this.sizes.splice(0, this.start);
      this.start = 0;
    }
  }

  full(): boolean {
    return this.count() >= this.sizeMsgs || (this.maxBytes !== 0 && this.bytesTotal >= this.maxBytes);
  }

  count(): number {
    return this.indexes.length - this.start;
  }

  bytes(): number {
    return this.bytesTotal;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.start = 0;
    this.bytesTotal = 0;
  }
}
