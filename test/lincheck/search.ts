// The linearization search: Wing & Gong's algorithm with Lowe's memoization, as Porcupine does it
// (anishathalye/porcupine, checker.go), plus revision-guided pruning.
//
// ## The generic search
//
// Calls and returns are events sorted by time (a call before a return at the same time, so such
// operations count as concurrent). An operation may take effect next iff its call comes before
// the first return still pending: nothing that must precede it is unplaced. The search tries such
// a candidate on the model; if the model accepts it, it is pushed on a stack, its events are
// unlinked ("lifted") and the search starts again from the first candidate. When no candidate is
// left, the search pops the last placed operation, relinks it and tries the candidate after it.
// A cache of (set of placed operations, model state) pairs already visited cuts repeated work:
// two paths that placed the same operations and reached the same state have the same future.
//
// Unknown operations have no return event (Porcupine's return time +infinity: they may take
// effect at any time after their call) and no result to match. A witness may leave them out, so
// the search succeeds as soon as every ok operation is placed; the unknown ones left over are
// the ones that "never took effect".
//
// Candidate order (differs from Porcupine; any order is complete, it only changes speed): the ok
// operations' events form one doubly linked list and the unknown operations' calls another, both
// in event order. The search tries the ok candidates first, in call order, and the unknown ones
// (those called before the first pending return) only when no ok candidate works, most recent
// call first. With Porcupine's single list, an unknown operation that never took effect is
// tried, and placed when the model allows it, at every point after its call; a wrong early guess
// is only refuted much later, after deep backtracking. Tried last, unknown operations are placed
// where the ok operations need them: to fill a revision no ok write explains, or to make a later
// result true; and the most recent first, since a request that took effect usually did so soon
// after its call, while lost ones linger as candidates forever. Unknown lease operations that
// would open an S5 chain (see below) come last of all: a two-step explanation is tried only
// after every one-step one.
//
// ## Revision pruning (on unless `pruning: false`)
//
// revision-windows.ts gives windows: in every witness, operation o runs with before-state
// revision in [preLo(o), preHi(o)] and after-state revision in [postLo(o), postHi(o)]. With R the
// revision of the current state, and "pinned" meaning "has a window":
//  S1. A pinned o is not tried unless preLo(o) <= R <= preHi(o), and is rejected if its step ends
//      outside [postLo(o), postHi(o)]: a witness cannot place it there, by definition.
//  S2. Invariant: no unplaced pinned operation has preHi < R. It holds at the start (check P3)
//      and is kept by rejecting any step that raises R while an unplaced pinned operation other
//      than the stepping one has preHi = R (counted per revision in pendingAt). Sound: after such
//      a step R only grows (M1), so that operation could never be placed, and a witness holds
//      every pinned operation (ok ones by definition, observed unknown ones by M3).
//  S3. An unknown operation whose step leaves the state unchanged is not placed: a witness that
//      places it there is still a witness without it (it has no result and changes nothing).
//  S4. When some unplaced pinned operation has preHi = R, an unpinned unknown put, put-with-lease,
//      delete or txn-cas is skipped without running the model: its step either writes, raising
//      R (rejected by S2), or changes nothing (S3).
//  S5. An unknown lease-grant(L), or an unknown lease-revoke(L) that deletes no key (a "lease
//      step"), must be followed at once by an operation on lease L that is not an unknown
//      lease-grant or lease-revoke: a put-with-lease of L, or an ok lease-grant or lease-revoke of
//      L. Sound because some witness has that shape whenever any witness exists. A lease step
//      changes only whether L exists, which no other operation looks at (no key is attached to L
//      while L does not exist, and keys get attached only by put-with-lease L). So in a witness a
//      lease step can be moved later, to just before the next operation on L, or dropped if there
//      is none, without changing any result; repeating this for the latest such step out of place
//      terminates (steps only move later) with every one in place. Then if a lease step is
//      followed by an unknown lease-grant or lease-revoke of L, that one is a lease step too (it
//      finds L just created or just revoked, so no key attached) and undoes the first (L absent,
//      present, absent; or present, absent, present): dropping both keeps a witness, and keeps
//      the shape. Without S5 the search places long-lost unknown lease operations wherever the
//      model allows (or chains of them) and refutes them only far later, after deep
//      backtracking. The lease that must come next is part of the search state, so it is part of
//      the cache key.
//  S6. A step that changes key k at after-state revision p is rejected when an ok read saw k
//      unchanged over a span containing p, or saw k's incarnation alive over a span containing p
//      and the step deletes k (frozen spans, read-facts.ts: no witness has such a step).
//      This refutes a wrong guess for a revision no ok write explains as soon as it is made,
//      rather than at the read that contradicts it.
//  S7. A step reaching a revision with a write pin (read-facts.ts) must put the pinned key,
//      leaving the pinned record, and for a create pin the key must be absent before it: no
//      witness has any other step there.
//  S8. A step reaching revision p is rejected if some ok read with header revision p would not
//      get its recorded result from the state after the step. Sound: such a read runs after this
//      step and before the next one that raises the revision; steps in between change at most the
//      set of leases (lease-grant, a lease-revoke that deletes nothing), never keys, and a read's
//      result depends only on the keys and the revision. So the read sees exactly this state.
//      This checks each read as soon as its state exists, not when real time lets it be placed.
//  S9. Unknown pure "bump" operations (writes to other keys in a history projected onto one key,
//      projection.ts, that only raise the revision) all have the same effect, so they are placed
//      in call order: the earliest called unplaced one, or none. Sound: if a witness uses a
//      later-called one u at some point while an earlier-called one v is unused there, v was
//      already called wherever u was (and has no return), so swapping them (v there, u where v
//      was, or u dropped) is a witness. Bumps that revoke a lease depend on the lease, so they
//      are not interchangeable and not ordered.
// Each rule only drops moves after which no witness can be completed, so the search with pruning
// finds a witness iff the search without it does; the property tests compare the two, and both
// with a brute-force enumeration, on small random histories.
//
// Budget: every candidate tried on the model and every backtrack is one step. When the budget
// runs out the verdict is "unknown"; "ok" is only returned with a complete witness in hand.
import {
  applyOp,
  resultMatches,
  stateEquals,
  initialState,
  type ModelOptions,
  type ModelState,
} from './etcd-model';
import { EventLists, HEAD, NIL, callNode, isCallNode, opOfNode } from './event-list';
import type { CheckedOp } from './prepare';
import { inSpans, type KeyFreeze, type WritePin } from './read-facts';
import type { RevisionAnalysis, RevisionWindow } from './revision-windows';
import { Visited } from './visited';

/** Why an operation could not be placed at some point of the search. */
export const Reject = {
  /** S1: the store is not at a revision where this operation can run. */
  Window: 1,
  /** The model's answer differs from the recorded result. */
  Result: 2,
  /** S2: the step would raise the revision past an unplaced pinned operation's last chance. */
  Strands: 3,
  /** S3: an unknown operation that would change nothing here. */
  NoOp: 4,
  /** S4: an unknown write while the revision must not move. */
  Blocked: 5,
  /** The step was fine but (placed set, state) was explored before and led nowhere. */
  Explored: 6,
  /** The step is fine and was not explored yet (only when the step budget ran out). */
  Open: 7,
  /** S5: an unknown lease operation was just placed; only an operation on its lease may follow. */
  Obligation: 8,
  /** S6: the step would change a key inside a span where an ok read saw it unchanged. */
  Frozen: 9,
  /** S7: a read shows that the step reaching this revision put another key or record. */
  WritePin: 10,
  /** S8: an ok read at the revision this step reaches would not get its recorded result. */
  EarlyRead: 11,
  /** S9: an earlier-called unknown write to another key, which has the same effect, goes first. */
  Symmetry: 12,
} as const;
export type Reject = (typeof Reject)[keyof typeof Reject];

export interface SearchConfig {
  readonly model: ModelOptions;
  readonly stepBudget: number;
  readonly pruning: boolean;
}

export type SearchOutcome =
  | {
      readonly verdict: 'ok';
      readonly steps: number;
      /** Op indices in linearization order (ok ones and the unknown ones that took effect). */
      readonly linearization: readonly number[];
    }
  | {
      readonly verdict: 'violation' | 'unknown';
      readonly steps: number;
      readonly deadEnd: DeadEnd;
    };

/** DeadEnd describes the deepest point the search reached without finding a way on. */
export interface DeadEnd {
  /** Op indices of the longest linearizable prefix found, in order. */
  readonly prefix: readonly number[];
  /** The model state after the prefix. */
  readonly state: ModelState;
  /** The ok operation whose return the search reached unplaced (it had to come next). */
  readonly blocked: number | null;
  /** Every operation that could have come next, and why it did not. */
  readonly candidates: ReadonlyArray<{ readonly index: number; readonly reason: Reject }>;
  /**
   * By candidate, the operation behind its rejection: the pinned operation it would strand
   * (Strands, Blocked), the read it contradicts (EarlyRead, Frozen, WritePin).
   */
  readonly culprits: ReadonlyMap<number, number>;
}

/** The lease an operation is about, 0 for none. */
function leaseOf(o: CheckedOp): number {
  const op = o.h.op;
  if (op.type === 'bump') return op.revokes ?? 0;
  return op.type === 'lease-grant' || op.type === 'lease-revoke' || op.type === 'put-with-lease'
    ? op.lease
    : 0;
}

/** S9: an unknown bump that only raises the revision (all of them are interchangeable). */
function isPureBump(o: CheckedOp): boolean {
  const op = o.h.op;
  return !o.required && op.type === 'bump' && op.maybeTo === null && op.revokes === undefined;
}

// Unknown operations of these kinds may open an S5 chain.
const opensChain = new Set(['lease-grant', 'lease-revoke']);

// Unknown operations of these kinds either raise the revision or change nothing (S4).
const writesOnlyWithBump = new Set(['put', 'put-with-lease', 'delete', 'txn-cas', 'bump']);

class Search {
  private readonly lists: EventLists;
  private readonly visited: Visited;
  /** pendingAt[r - base]: unplaced pinned operations with preHi = r. */
  private readonly pendingAt: Int32Array;
  private readonly base: number;
  private readonly stackOps: number[] = [];
  private readonly stackStates: ModelState[] = [];
  private readonly stackObligations: number[] = [];
  /** S5: the lease the next placed operation must be about, 0 for none. */
  private obligation = 0;
  private requiredLeft = 0;
  steps = 0;
  private best: number[] = [];

  private readonly windows: ReadonlyArray<RevisionWindow | null>;
  private readonly frozen: ReadonlyMap<string, KeyFreeze>;
  private readonly writePins: ReadonlyMap<number, WritePin>;
  /** S8: ok reads by header revision. */
  private readonly readsAt = new Map<number, number[]>();
  /** S9: unknown bump operations in call order, and how many of them are placed. */
  private readonly bumpOrder: number[] = [];
  private bumpsPlaced = 0;

  constructor(
    private readonly ops: readonly CheckedOp[],
    analysis: SearchAnalysis,
    private readonly config: SearchConfig,
  ) {
    const { windows, maxRevision } = analysis;
    this.windows = windows;
    this.frozen = config.pruning ? analysis.frozen : new Map();
    this.writePins = config.pruning ? analysis.writePins : new Map();
    if (config.pruning) {
      for (const o of ops) {
        if (
          !o.required ||
          o.h.result === null ||
          (o.h.op.type !== 'get' && o.h.op.type !== 'range')
        )
          continue;
        const at = (o.h.result as { revision: number }).revision;
        const list = this.readsAt.get(at);
        if (list === undefined) this.readsAt.set(at, [o.index]);
        else list.push(o.index);
      }
      // ops are sorted by call within the unknown ones (prepareHistory).
      for (const o of ops) if (isPureBump(o)) this.bumpOrder.push(o.index);
    }
    this.lists = new EventLists(ops);
    this.visited = new Visited(ops.length);
    this.base = config.model.initialRevision;
    this.pendingAt = new Int32Array(Math.max(0, maxRevision - this.base) + 2);
    for (const o of ops) {
      if (o.required) this.requiredLeft++;
      const w = windows[o.index];
      if (config.pruning && w) {
        // analyzeRevisions' P3 and P4 guarantee this; the search must not run otherwise.
        if (w.preHi < this.base || w.preHi - this.base >= this.pendingAt.length) {
          throw new Error(
            `lincheck: window of op ${o.h.id} outside [${this.base}, ${maxRevision}]`,
          );
        }
        this.pendingAt[w.preHi - this.base]! += 1;
      }
    }
  }

  private window(i: number): RevisionWindow | null {
    return this.config.pruning ? (this.windows[i] ?? null) : null;
  }

  private pendingCount(revision: number): number {
    const k = revision - this.base;
    return k >= 0 && k < this.pendingAt.length ? (this.pendingAt[k] ?? 0) : 0;
  }

  /** tryPlace returns the state after op i, or why i cannot be placed on state s. */
  tryPlace(i: number, s: ModelState): ModelState | Reject {
    const o = this.ops[i]!;
    const w = this.window(i);
    const r = s.revision;
    if (w !== null && (r < w.preLo || r > w.preHi)) return Reject.Window;
    if (this.obligation !== 0 && !this.meetsObligation(o)) return Reject.Obligation;
    if (
      this.config.pruning &&
      !o.required &&
      isPureBump(o) &&
      this.bumpOrder[this.bumpsPlaced] !== i
    ) {
      return Reject.Symmetry;
    }
    if (this.config.pruning && w === null && !o.required && writesOnlyWithBump.has(o.h.op.type)) {
      if (this.pendingCount(r) > 0) return Reject.Blocked;
    }
    const applied = applyOp(s, o.h.op, this.config.model);
    if (o.required) {
      if (o.h.result === null || !resultMatches(o.h.op, o.h.result, applied.response))
        return Reject.Result;
    } else if (this.config.pruning && stateEquals(applied.state, s)) {
      return Reject.NoOp;
    }
    const after = applied.state;
    if (this.config.pruning) {
      if (after.revision !== r) {
        const self = w !== null && w.preHi === r ? 1 : 0;
        if (this.pendingCount(r) - self > 0) return Reject.Strands;
      }
      if (w !== null && (after.revision < w.postLo || after.revision > w.postHi))
        return Reject.Window;
      if (after.revision !== r) {
        if (this.frozen.size > 0 && this.changesFrozenKey(o, s, after)) return Reject.Frozen;
        const pin = this.writePins.get(after.revision);
        if (pin !== undefined) {
          const op = o.h.op;
          const puts = op.type === 'put' || op.type === 'put-with-lease' || op.type === 'txn-cas';
          if (!puts || op.key !== pin.key || (pin.create && s.keys.has(pin.key)))
            return Reject.WritePin;
          const rec = pin.record;
          if (rec !== undefined) {
            const got = after.keys.get(pin.key);
            if (
              got === undefined ||
              got.value !== rec.value ||
              got.version !== rec.version ||
              (rec.createRevision !== undefined && got.createRevision !== rec.createRevision)
            ) {
              return Reject.WritePin;
            }
          }
        }
        const reads = this.readsAt.get(after.revision);
        if (reads !== undefined) {
          for (const j of reads) {
            const read = this.ops[j]!;
            const response = applyOp(after, read.h.op, this.config.model).response;
            if (!resultMatches(read.h.op, read.h.result!, response)) return Reject.EarlyRead;
          }
        }
      }
    }
    return after;
  }

  /** S6: whether the step from before to after (which raised the revision) changes a frozen key. */
  private changesFrozenKey(o: CheckedOp, before: ModelState, after: ModelState): boolean {
    const p = after.revision;
    const op = o.h.op;
    if (op.type === 'put' || op.type === 'put-with-lease' || op.type === 'txn-cas') {
      const f = this.frozen.get(op.key);
      return f !== undefined && inSpans(f.noWrite, p);
    }
    // delete and lease-revoke: the keys present before and gone after.
    for (const k of before.keys.keys()) {
      if (after.keys.has(k)) continue;
      const f = this.frozen.get(k);
      if (f !== undefined && (inSpans(f.noWrite, p) || inSpans(f.noDelete, p))) return true;
    }
    return false;
  }

  /** S5: whether o may follow the lease step just placed. */
  private meetsObligation(o: CheckedOp): boolean {
    return leaseOf(o) === this.obligation && (o.required || !opensChain.has(o.h.op.type));
  }

  /** S5: the obligation after placing op i, which took the state from before to after. */
  obligationAfter(i: number, before: ModelState, after: ModelState): number {
    const o = this.ops[i]!;
    if (!this.config.pruning || o.required || after.revision !== before.revision) return 0;
    return o.h.op.type === 'lease-grant' || o.h.op.type === 'lease-revoke' ? o.h.op.lease : 0;
  }

  private place(i: number, before: ModelState, obligation: number): void {
    this.stackOps.push(i);
    this.stackStates.push(before);
    this.stackObligations.push(this.obligation);
    this.obligation = obligation;
    this.lists.lift(i);
    if (this.ops[i]!.required) this.requiredLeft--;
    else if (this.config.pruning && isPureBump(this.ops[i]!)) this.bumpsPlaced++;
    const w = this.window(i);
    if (w !== null) this.pendingAt[w.preHi - this.base]! -= 1;
  }

  /** Undoes the last placement; returns its op index and the state before it. */
  private unplace(): { i: number; state: ModelState } {
    const i = this.stackOps.pop()!;
    const state = this.stackStates.pop()!;
    this.obligation = this.stackObligations.pop()!;
    this.visited.setPlaced(i, false);
    this.lists.unlift(i);
    if (this.ops[i]!.required) this.requiredLeft++;
    else if (this.config.pruning && isPureBump(this.ops[i]!)) this.bumpsPlaced--;
    const w = this.window(i);
    if (w !== null) this.pendingAt[w.preHi - this.base]! += 1;
    return { i, state };
  }

  run(): SearchOutcome {
    let state = initialState(this.config.model);
    // Phase 1 walks the ok list forwards up to its first return; phase 2 walks the unknown list
    // backwards from the last call before that return, skipping steps that open an S5 chain;
    // phase 3 walks it again for those steps only.
    let node = this.lists.next[HEAD]!;
    let phase: 1 | 2 | 3 = 1;
    for (;;) {
      if (this.requiredLeft === 0) {
        return { verdict: 'ok', steps: this.steps, linearization: [...this.stackOps] };
      }
      if (this.steps >= this.config.stepBudget) {
        return { verdict: 'unknown', steps: this.steps, deadEnd: this.deadEnd() };
      }
      const candidate =
        phase === 1 ? node !== NIL && isCallNode(node) : node !== this.lists.unknownHead;
      // Candidates that cannot be placed for a reason seen without the model are passed over
      // without counting a step: the walk is linear in the list, per counted step.
      if (
        candidate &&
        ((phase === 3 && !opensChain.has(this.ops[opOfNode(node)]!.h.op.type)) ||
          (this.obligation !== 0 && !this.meetsObligation(this.ops[opOfNode(node)]!)))
      ) {
        node = phase === 1 ? this.lists.next[node]! : this.lists.prev[node]!;
        continue;
      }
      if (candidate) {
        this.steps++;
        const i = opOfNode(node);
        const after = this.tryPlace(i, state);
        const obligation = typeof after === 'number' ? 0 : this.obligationAfter(i, state, after);
        if (typeof after !== 'number' && (phase === 1 || (obligation !== 0) === (phase === 3))) {
          this.visited.setPlaced(i, true);
          if (this.visited.remember(after, obligation)) {
            this.place(i, state, obligation);
            state = after;
            node = this.lists.next[HEAD]!;
            phase = 1;
            continue;
          }
          this.visited.setPlaced(i, false);
        }
        node = phase === 1 ? this.lists.next[node]! : this.lists.prev[node]!;
        continue;
      }
      if (phase === 1) {
        if (node === NIL)
          throw new Error('lincheck: ok list ended while ok operations were unplaced');
        phase = 2;
        node = this.lists.lastUnknownBefore(this.lists.pos[node]!);
        continue;
      }
      if (phase === 2 && this.config.pruning) {
        phase = 3;
        node = this.lists.lastUnknownBefore(this.lists.candidateBound());
        continue;
      }
      // No candidate works: back up.
      this.steps++;
      if (this.stackOps.length > this.best.length || this.best.length === 0) {
        this.best = [...this.stackOps];
      }
      if (this.stackOps.length === 0) {
        return { verdict: 'violation', steps: this.steps, deadEnd: this.deadEnd() };
      }
      const openedChain = this.obligation !== 0;
      const undone = this.unplace();
      state = undone.state;
      if (this.ops[undone.i]!.required) {
        phase = 1;
        node = this.lists.next[callNode(undone.i)]!;
      } else {
        phase = openedChain ? 3 : 2;
        node = this.lists.prev[callNode(undone.i)]!;
      }
    }
  }

  /**
   * deadEnd rebuilds the deepest point reached: it rewinds to the empty stack, replays the best
   * prefix and lists the candidates there with the reason each was refused.
   */
  private deadEnd(): DeadEnd {
    while (this.stackOps.length > 0) this.unplace();
    const prefix = this.best;
    let state = initialState(this.config.model);
    for (const i of prefix) {
      const after = this.tryPlace(i, state);
      if (typeof after === 'number')
        throw new Error('lincheck: the recorded prefix does not replay');
      this.visited.setPlaced(i, true);
      this.place(i, state, this.obligationAfter(i, state, after));
      state = after;
    }
    const candidates: Array<{ index: number; reason: Reject }> = [];
    const culprits = new Map<number, number>();
    const consider = (i: number): void => {
      const after = this.tryPlace(i, state);
      let reason: Reject;
      if (typeof after === 'number') {
        reason = after;
      } else {
        this.visited.setPlaced(i, true);
        reason = this.visited.has(after, this.obligationAfter(i, state, after))
          ? Reject.Explored
          : Reject.Open;
        this.visited.setPlaced(i, false);
      }
      candidates.push({ index: i, reason });
      const culprit = this.culprit(i, state, reason);
      if (culprit !== null) culprits.set(i, culprit);
    };
    let x = this.lists.next[HEAD]!;
    for (; x !== NIL && isCallNode(x); x = this.lists.next[x]!) consider(opOfNode(x));
    const blocked = x === NIL ? null : opOfNode(x);
    const bound = x === NIL ? this.lists.pos.length : this.lists.pos[x]!;
    for (
      let u = this.lists.lastUnknownBefore(bound);
      u !== this.lists.unknownHead;
      u = this.lists.prev[u]!
    )
      consider(opOfNode(u));
    return { prefix, state, blocked, candidates, culprits };
  }

  /** The operation behind the rejection of candidate i on state s, for explanations. */
  private culprit(i: number, s: ModelState, reason: Reject): number | null {
    if (reason === Reject.Strands || reason === Reject.Blocked) {
      const victim = this.ops.find(
        (o) =>
          o.index !== i &&
          !this.visited.isPlaced(o.index) &&
          this.window(o.index)?.preHi === s.revision,
      );
      return victim?.index ?? null;
    }
    const after = applyOp(s, this.ops[i]!.h.op, this.config.model).state;
    if (reason === Reject.EarlyRead) {
      for (const j of this.readsAt.get(after.revision) ?? []) {
        const read = this.ops[j]!;
        if (
          !resultMatches(
            read.h.op,
            read.h.result!,
            applyOp(after, read.h.op, this.config.model).response,
          )
        )
          return j;
      }
    }
    if (reason === Reject.WritePin) return this.writePins.get(after.revision)?.reader ?? null;
    if (reason === Reject.Frozen) {
      const p = after.revision;
      const touched = [...s.keys.keys()].filter((k) => after.keys.get(k) !== s.keys.get(k));
      const op = this.ops[i]!.h.op;
      if ('key' in op) touched.push(op.key);
      for (const k of touched) {
        const span = this.frozen.get(k)?.observed.find((x) => x.lo < p && p <= x.hi);
        if (span !== undefined) return span.reader;
      }
    }
    return null;
  }
}

/** SearchAnalysis: what the search uses from analyzeRevisions (only when config.pruning). */
export type SearchAnalysis = Pick<
  RevisionAnalysis,
  'windows' | 'maxRevision' | 'frozen' | 'writePins'
>;

/** searchLinearization looks for a witness (see revision-windows.ts) for the given operations. */
export function searchLinearization(
  ops: readonly CheckedOp[],
  analysis: SearchAnalysis,
  config: SearchConfig,
): SearchOutcome {
  return new Search(ops, analysis, config).run();
}
