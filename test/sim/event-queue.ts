// A min-heap of timed events. Ties on time are broken by insertion order, so a
// run is a pure function of its seed: no two events are ever "simultaneous".

interface Slot<T> {
  readonly time: number;
  readonly seq: number;
  readonly value: T;
}

/** EventQueue holds values ordered by (time, insertion order). */
export class EventQueue<T> {
  private heap: Slot<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, value: T): void {
    const s: Slot<T> = { time, seq: this.seq++, value };
    const h = this.heap;
    h.push(s);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(s, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = s;
  }

  /** peekTime is the time of the next event, or +Infinity when empty. */
  peekTime(): number {
    return this.heap[0]?.time ?? Number.POSITIVE_INFINITY;
  }

  pop(): { time: number; value: T } | undefined {
    const h = this.heap;
    const top = h[0];
    if (!top) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return { time: top.time, value: top.value };
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
