// The events of the operations being ordered, as Porcupine keeps them: doubly linked lists in
// time order from which placed operations are unlinked ("lifted") and relinked on backtracking
// (dancing links: relinking in reverse order of unlinking restores the list exactly).
//
// Two lists share the arrays: the ok operations' calls and returns (head HEAD), and the unknown
// operations' calls (between unknownHead and unknownTail; unknown operations have no return
// event). pos gives each node's place in the one global time order, so the search can tell
// which unknown calls come before the first pending return.
import type { CheckedOp } from './prepare';

export const NIL = -1;
/** Head of the list of ok operations' calls and returns. */
export const HEAD = 0;
export const callNode = (i: number): number => 2 * i + 1;
export const returnNode = (i: number): number => 2 * i + 2;
export const opOfNode = (node: number): number => (node - 1) >> 1;
export const isCallNode = (node: number): boolean => (node & 1) === 1;

/** eventOrder: nodes by time, a call before a return at equal times, ties by op index. */
export function eventOrder(ops: readonly CheckedOp[]): number[] {
  const events: Array<{ time: number; node: number }> = [];
  for (const o of ops) {
    events.push({ time: o.call, node: callNode(o.index) });
    if (o.required) events.push({ time: o.ret, node: returnNode(o.index) });
  }
  events.sort((a, b) => {
    if (a.time !== b.time) return a.time - b.time;
    const ac = isCallNode(a.node);
    if (ac !== isCallNode(b.node)) return ac ? -1 : 1;
    return a.node - b.node;
  });
  return events.map((e) => e.node);
}

/** EventLists holds both lists. Invariant: lift and unlift calls nest (LIFO). */
export class EventLists {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Position of each node in the global event order. */
  readonly pos: Int32Array;
  /** Head and tail sentinels of the unknown calls' list (2n + 1 and 2n + 2). */
  readonly unknownHead: number;
  readonly unknownTail: number;

  constructor(private readonly ops: readonly CheckedOp[]) {
    const n = ops.length;
    this.unknownHead = 2 * n + 1;
    this.unknownTail = 2 * n + 2;
    this.next = new Int32Array(2 * n + 3).fill(NIL);
    this.prev = new Int32Array(2 * n + 3).fill(NIL);
    this.pos = new Int32Array(2 * n + 3);
    let lastRequired = HEAD;
    let lastUnknown = this.unknownHead;
    eventOrder(ops).forEach((node, k) => {
      this.pos[node] = k;
      if (ops[opOfNode(node)]!.required) {
        this.link(lastRequired, node);
        lastRequired = node;
      } else {
        this.link(lastUnknown, node);
        lastUnknown = node;
      }
    });
    this.link(lastUnknown, this.unknownTail);
  }

  private link(a: number, b: number): void {
    this.next[a] = b;
    this.prev[b] = a;
  }

  private unlink(x: number): void {
    const { next, prev } = this;
    next[prev[x]!] = next[x]!;
    if (next[x] !== NIL) prev[next[x]!] = prev[x]!;
  }

  private relink(x: number): void {
    const { next, prev } = this;
    next[prev[x]!] = x;
    if (next[x] !== NIL) prev[next[x]!] = x;
  }

  /** lift unlinks op i's events (it has been placed). */
  lift(i: number): void {
    this.unlink(callNode(i));
    if (this.ops[i]!.required) this.unlink(returnNode(i));
  }

  /** unlift relinks op i's events; it must be the op lifted last. */
  unlift(i: number): void {
    if (this.ops[i]!.required) this.relink(returnNode(i));
    this.relink(callNode(i));
  }

  /** Event position of the first pending return: unknown calls before it are candidates. */
  candidateBound(): number {
    for (let x = this.next[HEAD]!; x !== NIL; x = this.next[x]!) {
      if (!isCallNode(x)) return this.pos[x]!;
    }
    return this.pos.length;
  }

  /** The latest unknown call before event position bound, or unknownHead if none. */
  lastUnknownBefore(bound: number): number {
    let x = this.prev[this.unknownTail]!;
    while (x !== this.unknownHead && this.pos[x]! >= bound) x = this.prev[x]!;
    return x;
  }
}
