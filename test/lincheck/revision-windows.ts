// Revision windows: what the global revision in results tells us about where each operation can
// sit in any linearization, and the contradictions that can be seen without searching.
//
// ## Why keys are not independent, and what we use instead
//
// Porcupine partitions a KV history by key (P-compositionality). Here every result carries the
// global revision, which couples all keys, so partitioning would throw away the strongest
// evidence. Instead the revision numbers themselves order the operations.
//
// Model facts (etcd-model.ts), used below:
//  M1. Along any sequence of model steps the revision never decreases, and one step raises it by
//      0 or 1.
//  M2. An ok operation with result revision r is accepted only in a step whose after-state has
//      revision r. Its before-state revision is r-1 if the step wrote (put, put-with-lease: always;
//      delete: iff deleted > 0; txn-cas: iff succeeded) and r if it did not (get, range,
//      lease-grant; delete of nothing; failed txn). lease-revoke may or may not write (it depends
//      on the keys attached at that moment), so its before-state is r-1 or r.
//  M3. A key's record holds the value of the last write to it and modRevision = the after-state
//      revision of that write. So if an ok read sees key k = v with modRevision m, some operation
//      in the linearization wrote v to k in a step whose after-state revision is m. If exactly one
//      operation in the history may write v to k (simulator values are unique), that operation
//      is in every linearization, before and after revision m-1 and m.
//
// A witness is a sequence holding every ok operation and any subset of the unknown ones, that
// respects real time (a before b whenever a returned before b was called) and that the model
// accepts (every ok result matches exactly). The history is linearizable iff a witness exists.
//
// A *window* for operation o is a pair of ranges [preLo, preHi] and [postLo, postHi] such that in
// every witness o appears with its before-state revision in the first and its after-state
// revision in the second. M2 gives windows for ok operations with a result revision; M3 gives
// windows ("pins") for unknown writes that some read observed.
//
// Each check in analyzeRevisions shows that no witness exists:
//  P1 (never written): an ok read sees k = v but no operation may write v to k: contradicts M3.
//  P2 (attribution): the only writer of v to k is an ok operation with revision r != m, or two
//     reads attribute it to different revisions m1 != m2: contradicts M3 (it writes once).
//  P3 (before the start): preHi(o) < initialRevision: every before-state is at least
//     initialRevision (M1).
//  P4 (unreachable): postLo(o) > initialRevision + B, where B counts the operations that can
//     write at all: each raises the revision at most once (M1).
//  P5 (one write per revision): two operations that certainly write have the same after-state
//     revision: each write raises the revision by one from a strictly larger value (M1).
//  P6 (real time): a returned before b was called, both have windows, and postLo(a) > preHi(b):
//     in a witness a precedes b, so post(a) <= pre(b) by M1, yet post(a) >= postLo(a) >
//     preHi(b) >= pre(b).
//  P7 (frozen key): an ok write changes key k at revision p, and an ok read saw k unchanged over
//     a span containing p (frozen spans, read-facts.ts).
//  P8 (write pins): two reads pin different keys or records to one revision, or a revision at
//     or below the initial one, or an ok operation reaching a pinned revision is not such a put
//     (write pins, read-facts.ts).
//
// The search (search.ts) then uses the windows, frozen spans and write pins to prune; its
// comment gives that argument.
import type { ModelOptions } from './etcd-model';
import { describeOp } from './describe';
import type { HistoryOp, LeaseGrantResult, RevisionResult } from './history';
import type { CheckedOp } from './prepare';
import {
  frozenSpans,
  gatherWritePins,
  observations,
  type KeyFreeze,
  type WritePin,
} from './read-facts';

/** Bumps says whether an operation's step raises the revision. */
export const Bumps = {
  Never: 'never',
  Always: 'always',
  Maybe: 'maybe',
} as const;
export type Bumps = (typeof Bumps)[keyof typeof Bumps];

/** RevisionWindow bounds an operation's before- and after-state revisions in every witness. */
export interface RevisionWindow {
  readonly preLo: number;
  readonly preHi: number;
  readonly postLo: number;
  readonly postHi: number;
  readonly bumps: Bumps;
  /** For an unknown write pinned by M3: the index of a read that observed it. */
  readonly observedBy?: number;
}

export interface RevisionViolation {
  readonly message: string;
  /** History ids of the operations involved. */
  readonly ops: readonly number[];
}

/** The key an ok write changes in every witness and whether it deletes it, or null. */
function changedKey(o: CheckedOp): { key: string; deletes: boolean } | null {
  if (!o.required || o.h.result === null) return null;
  const op = o.h.op;
  switch (op.type) {
    case 'put':
    case 'put-with-lease':
      return { key: op.key, deletes: false };
    case 'txn-cas':
      return (o.h.result as { succeeded: boolean }).succeeded
        ? { key: op.key, deletes: false }
        : null;
    case 'delete':
      return op.rangeEnd === undefined && (o.h.result as { deleted: number }).deleted > 0
        ? { key: op.key, deletes: true }
        : null;
    default:
      return null;
  }
}

export interface RevisionAnalysis {
  /** Write pins by revision (see the top of this file). */
  readonly writePins: ReadonlyMap<number, WritePin>;
  /** Frozen spans per key (see the top of this file). */
  readonly frozen: ReadonlyMap<string, KeyFreeze>;
  /** Window per CheckedOp index; null where the history says nothing. */
  readonly windows: ReadonlyArray<RevisionWindow | null>;
  /** No before- or after-state revision of any witness exceeds this (P4's bound). */
  readonly maxRevision: number;
  /** The first contradiction found, if any; it proves the history is not linearizable. */
  readonly violation: RevisionViolation | null;
}

function windowFromResult(o: CheckedOp, options: ModelOptions): RevisionWindow | null {
  if (!o.required || o.h.result === null) return null;
  const op = o.h.op;
  const result = o.h.result;
  let bumps: Bumps;
  switch (op.type) {
    case 'put':
    case 'put-with-lease':
      bumps = Bumps.Always;
      break;
    case 'delete':
      bumps = (result as { deleted: number }).deleted > 0 ? Bumps.Always : Bumps.Never;
      break;
    case 'txn-cas':
      bumps = (result as { succeeded: boolean }).succeeded ? Bumps.Always : Bumps.Never;
      break;
    case 'get':
    case 'range':
      bumps = Bumps.Never;
      break;
    case 'lease-grant':
      if ((result as LeaseGrantResult).revision === undefined) return null;
      bumps = Bumps.Never;
      break;
    case 'lease-revoke':
      bumps = options.leaseRevokeBumpsWhenEmpty ? Bumps.Always : Bumps.Maybe;
      break;
    case 'bump':
      bumps = op.maybeTo === null ? Bumps.Always : Bumps.Maybe;
      break;
  }
  const r = (result as RevisionResult).revision;
  return {
    preLo: bumps === Bumps.Never ? r : r - 1,
    preHi: bumps === Bumps.Always ? r - 1 : r,
    postLo: r,
    postHi: r,
    bumps,
  };
}

/** The key/value an operation may write, or null. Ok txn-cas that failed wrote nothing. */
function writtenPair(o: CheckedOp): { key: string; value: string } | null {
  const op = o.h.op;
  if (op.type !== 'put' && op.type !== 'put-with-lease' && op.type !== 'txn-cas') return null;
  if (op.type === 'txn-cas' && o.required && !(o.h.result as { succeeded: boolean }).succeeded)
    return null;
  return { key: op.key, value: op.value };
}

function mayWrite(o: CheckedOp, w: RevisionWindow | null): boolean {
  if (o.required) return w === null ? false : w.bumps !== Bumps.Never;
  const t = o.h.op.type;
  return (
    t === 'put' ||
    t === 'put-with-lease' ||
    t === 'delete' ||
    t === 'txn-cas' ||
    t === 'lease-revoke' ||
    t === 'bump'
  );
}

const pairKey = (key: string, value: string): string => `${key.length}:${key}=${value}`;

function violation(message: string, ...ops: HistoryOp[]): RevisionAnalysis['violation'] {
  return { message, ops: ops.map((h) => h.id) };
}

/**
 * analyzeRevisions computes every operation's revision window and looks for the contradictions
 * P1..P8 listed at the top of this file.
 */
export function analyzeRevisions(
  ops: readonly CheckedOp[],
  failed: readonly HistoryOp[],
  options: ModelOptions,
): RevisionAnalysis {
  const windows: Array<RevisionWindow | null> = ops.map((o) => windowFromResult(o, options));
  const initial = options.initialRevision;
  let writers = 0;
  for (const o of ops) if (mayWrite(o, windows[o.index] ?? null)) writers++;
  const maxRevision = initial + writers;
  const frozen = frozenSpans(ops);
  const gathered = gatherWritePins(ops, initial);
  const writePins = gathered.pins;
  const done = (v: RevisionViolation | null): RevisionAnalysis => ({
    writePins,
    frozen,
    windows,
    maxRevision,
    violation: v,
  });

  // P8: write pins must not contradict each other.
  const conflict = gathered.conflict;
  if (conflict !== null) {
    const b = ops[conflict.pin.reader]!;
    if (conflict.old === null) {
      return done(
        violation(
          `P8 write pins: ${describeOp(b.h)} shows a write reaching revision ${conflict.at}, but the store starts at revision ${initial}`,
          b.h,
        ),
      );
    }
    const a = ops[conflict.old.reader]!;
    const what = (x: WritePin): string =>
      x.record === undefined
        ? `was to ${JSON.stringify(x.key)}`
        : `left ${JSON.stringify(x.key)}=${JSON.stringify(x.record.value)} version ${x.record.version}`;
    return done(
      violation(
        `P8 write pins: ${describeOp(a.h)} shows that the write reaching revision ${conflict.at} ${what(conflict.old)}, but ${describeOp(b.h)} shows it ${what(conflict.pin)}`,
        a.h,
        b.h,
      ),
    );
  }
  for (const o of ops) {
    const w = windows[o.index];
    if (!o.required || !w || w.bumps === Bumps.Never) continue;
    const pin = writePins.get(w.postLo);
    if (pin === undefined) continue;
    const changed = changedKey(o);
    const writesPinnedKey = changed !== null && !changed.deletes && changed.key === pin.key;
    if (!writesPinnedKey && w.bumps === Bumps.Always) {
      const reader = ops[pin.reader]!;
      return done(
        violation(
          `P8 write pins: ${describeOp(reader.h)} shows that the write reaching revision ${w.postLo} put ${JSON.stringify(pin.key)}, but ${describeOp(o.h)} reached that revision`,
          reader.h,
          o.h,
        ),
      );
    }
  }

  // M3: attribute observed values to their writers.
  const writersOf = new Map<string, CheckedOp[]>();
  for (const o of ops) {
    const pair = writtenPair(o);
    if (pair === null) continue;
    const k = pairKey(pair.key, pair.value);
    const list = writersOf.get(k);
    if (list === undefined) writersOf.set(k, [o]);
    else list.push(o);
  }
  const failedWriter = new Map<string, HistoryOp>();
  for (const h of failed) {
    if (h.op.type === 'put' || h.op.type === 'put-with-lease' || h.op.type === 'txn-cas') {
      failedWriter.set(pairKey(h.op.key, h.op.value), h);
    }
  }
  for (const o of ops) {
    for (const seen of observations(o)) {
      const k = pairKey(seen.key, seen.value);
      const list = writersOf.get(k) ?? [];
      const w = list[0];
      if (w === undefined) {
        const f = failedWriter.get(k);
        const note = f === undefined ? '' : ` (only ${describeOp(f)} did, and its outcome is fail)`;
        return done(
          violation(
            `P1 never written: ${describeOp(o.h)} saw ${JSON.stringify(seen.key)}=${JSON.stringify(seen.value)}, which no operation wrote${note}`,
            o.h,
            ...(f === undefined ? [] : [f]),
          ),
        );
      }
      if (list.length > 1) continue; // the value is not unique: no attribution
      const ww = windows[w.index] ?? null;
      if (w.required) {
        if (ww !== null && ww.postLo !== seen.modRevision) {
          return done(
            violation(
              `P2 attribution: ${describeOp(o.h)} saw ${JSON.stringify(seen.key)}=${JSON.stringify(seen.value)} with modRevision ${seen.modRevision}, but the only write of that value, ${describeOp(w.h)}, wrote it at revision ${ww.postLo}`,
              o.h,
              w.h,
            ),
          );
        }
        continue;
      }
      if (ww !== null && ww.postLo !== seen.modRevision) {
        const first = ww.observedBy === undefined ? undefined : ops[ww.observedBy];
        return done(
          violation(
            `P2 attribution: ${describeOp(o.h)} saw ${JSON.stringify(seen.key)}=${JSON.stringify(seen.value)} with modRevision ${seen.modRevision}, but ${first === undefined ? 'another read' : describeOp(first.h)} saw it with modRevision ${ww.postLo}, and only ${describeOp(w.h)} wrote it, once`,
            o.h,
            w.h,
            ...(first === undefined ? [] : [first.h]),
          ),
        );
      }
      if (ww === null) {
        const m = seen.modRevision;
        windows[w.index] = {
          preLo: m - 1,
          preHi: m - 1,
          postLo: m,
          postHi: m,
          bumps: Bumps.Always,
          observedBy: o.index,
        };
      }
    }
  }

  const why = (o: CheckedOp, w: RevisionWindow): string => {
    if (w.observedBy !== undefined) {
      const reader = ops[w.observedBy];
      return `${describeOp(o.h)} (the only write of a value that ${reader === undefined ? 'a read' : describeOp(reader.h)} saw at modRevision ${w.postLo})`;
    }
    return describeOp(o.h);
  };

  // P3, P4.
  for (const o of ops) {
    const w = windows[o.index];
    if (w === undefined || w === null) continue;
    if (w.preHi < initial) {
      return done(
        violation(
          `P3 before the start: ${why(o, w)} needs the store at revision ${w.preHi} or lower before it, but the store starts at revision ${initial} and never goes back`,
          o.h,
        ),
      );
    }
    if (w.postLo > maxRevision) {
      return done(
        violation(
          `P4 unreachable: ${why(o, w)} needs revision ${w.postLo}, but only ${writers} operations in the history can write, so the revision never exceeds ${maxRevision}`,
          o.h,
        ),
      );
    }
  }

  // P5.
  const writerAt = new Map<number, CheckedOp>();
  for (const o of ops) {
    const w = windows[o.index];
    if (w === undefined || w === null || w.bumps !== Bumps.Always) continue;
    const other = writerAt.get(w.postLo);
    if (other !== undefined) {
      const ow = windows[other.index];
      return done(
        violation(
          `P5 one write per revision: ${ow ? why(other, ow) : describeOp(other.h)} and ${why(o, w)} both wrote, both at revision ${w.postLo}`,
          other.h,
          o.h,
        ),
      );
    }
    writerAt.set(w.postLo, o);
  }

  // P6: for each b, the largest postLo among windowed operations that returned before b's call.
  const finished = ops
    .filter((o) => windows[o.index] !== null && Number.isFinite(o.ret))
    .sort((a, b) => a.ret - b.ret);
  const bestUpTo: CheckedOp[] = [];
  for (const o of finished) {
    const prev = bestUpTo[bestUpTo.length - 1];
    const better =
      prev === undefined ||
      (windows[o.index]?.postLo ?? -Infinity) > (windows[prev.index]?.postLo ?? -Infinity);
    bestUpTo.push(better ? o : prev);
  }
  const byCall = ops
    .filter((o) => windows[o.index] !== null)
    .sort((a, b) => a.call - b.call || a.index - b.index);
  for (const b of byCall) {
    // Number of finished operations with ret < b.call.
    let lo = 0;
    let hi = finished.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((finished[mid]?.ret ?? Infinity) < b.call) lo = mid + 1;
      else hi = mid;
    }
    const a = lo > 0 ? bestUpTo[lo - 1] : undefined;
    const wa = a === undefined ? null : windows[a.index];
    const wb = windows[b.index];
    if (a !== undefined && wa && wb && wa.postLo > wb.preHi) {
      return done(
        violation(
          `P6 real time: ${why(a, wa)} returned before ${why(b, wb)} was called, so #${b.h.id} comes later; the revision never decreases, yet #${a.h.id} left it at ${wa.postLo} and #${b.h.id} needs it at ${wb.preHi} or lower`,
          a.h,
          b.h,
        ),
      );
    }
  }

  // P7.
  for (const o of ops) {
    const changed = changedKey(o);
    const w = windows[o.index];
    const freeze = changed === null ? undefined : frozen.get(changed.key);
    if (changed === null || freeze === undefined || !w) continue;
    const p = w.postLo;
    const span = freeze.observed.find(
      (x) => x.lo < p && p <= x.hi && (x.kind === 'write' || changed.deletes),
    );
    const reader = span === undefined ? undefined : ops[span.reader];
    if (span !== undefined && reader !== undefined) {
      const what =
        span.kind === 'write'
          ? `unchanged from revision ${span.lo}`
          : `not deleted since its creation at ${span.lo}`;
      return done(
        violation(
          `P7 frozen key: ${describeOp(o.h)} changed ${JSON.stringify(changed.key)} at revision ${p}, but ${describeOp(reader.h)} saw it ${what} to ${span.hi}`,
          o.h,
          reader.h,
        ),
      );
    }
  }
  return done(null);
}
