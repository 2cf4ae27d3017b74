// What ok reads say about the history beyond their own result, as facts the checks before the
// search (revision-windows.ts) and the search (search.ts) use. Each fact holds in every witness
// (a linearization; see revision-windows.ts), by the argument next to it.
//
// Frozen spans. An ok read with header revision r that sees key k with modRevision m shows that
// no step changed k at an after-state revision p in (m, r]: a step with p <= r comes before the
// read (the revision passes p once, before the read's state at r), it leaves k absent or with
// modRevision p, and every later write gives a larger one; so the read would see k absent or with
// modRevision >= p > m. Likewise, if the read reports k's createRevision c, no step deleted k at
// p in (c, r] (a delete ends the incarnation created at c, and a new one gets createRevision >=
// p > c). P7 applies this to ok writes; the search applies it to every step (S6 in search.ts).
//
// Write pins. The same read also says which key the step reaching revision m wrote: only a put
// (put, put-with-lease, successful txn-cas) sets modRevision, to its after-state revision, and
// only one step reaches each revision. So the step with after-state m put k, leaving exactly the
// record the read reports (value, version and any createRevision: the record is not changed again
// before the read, by the frozen span); and the step with after-state c (a reported
// createRevision) put k while k was absent. P8 rejects a history where two reads pin different
// keys or records to one revision, or an ok operation reaching that revision is not such a put;
// the search rejects any other step reaching a pinned revision (S7).
import type { GetResult, RangeResult } from './history';
import type { CheckedOp } from './prepare';

/** Spans is a set of disjoint revision spans (lo, hi], sorted. */
export interface Spans {
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** inSpans says whether revision p lies in one of the spans. */
export function inSpans(spans: Spans, p: number): boolean {
  // The last span with lo < p.
  let a = 0;
  let b = spans.lo.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((spans.lo[mid] ?? Infinity) < p) a = mid + 1;
    else b = mid;
  }
  return a > 0 && p <= (spans.hi[a - 1] ?? -Infinity);
}

/** FrozenSpan: reader saw key unchanged (or, for kind "delete", not deleted) over (lo, hi]. */
export interface FrozenSpan {
  readonly lo: number;
  readonly hi: number;
  readonly reader: number;
  readonly kind: 'write' | 'delete';
}

/** KeyFreeze collects what the ok reads say about one key. */
export interface KeyFreeze {
  /** No step changes the key at these revisions. */
  readonly noWrite: Spans;
  /** No step deletes the key at these revisions. */
  readonly noDelete: Spans;
  /** The spans as observed, for explanations. */
  readonly observed: readonly FrozenSpan[];
}

function mergeSpans(list: ReadonlyArray<{ lo: number; hi: number }>): Spans {
  const sorted = list.filter((x) => x.lo < x.hi).sort((x, y) => x.lo - y.lo);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const x of sorted) {
    const last = hi.length - 1;
    if (last >= 0 && x.lo <= hi[last]!) hi[last] = Math.max(hi[last]!, x.hi);
    else {
      lo.push(x.lo);
      hi.push(x.hi);
    }
  }
  return { lo, hi };
}

/** frozenSpans gathers, per key, the spans over which ok reads saw it unchanged. */
export function frozenSpans(ops: readonly CheckedOp[]): Map<string, KeyFreeze> {
  const raw = new Map<string, FrozenSpan[]>();
  const add = (key: string, span: FrozenSpan): void => {
    if (span.lo >= span.hi) return;
    const list = raw.get(key);
    if (list === undefined) raw.set(key, [span]);
    else list.push(span);
  };
  const see = (o: CheckedOp, key: string, r: number, m: number, c: number | undefined): void => {
    add(key, { lo: m, hi: r, reader: o.index, kind: 'write' });
    if (c !== undefined) add(key, { lo: c, hi: r, reader: o.index, kind: 'delete' });
  };
  for (const o of ops) {
    if (!o.required || o.h.result === null) continue;
    if (o.h.op.type === 'get') {
      const g = o.h.result as GetResult;
      if (g.value !== null) see(o, o.h.op.key, g.revision, g.modRevision, g.createRevision);
    } else if (o.h.op.type === 'range') {
      const rr = o.h.result as RangeResult;
      for (const kv of rr.kvs) see(o, kv.key, rr.revision, kv.modRevision, kv.createRevision);
    }
  }
  const out = new Map<string, KeyFreeze>();
  for (const [key, spans] of raw) {
    out.set(key, {
      noWrite: mergeSpans(spans.filter((x) => x.kind === 'write')),
      noDelete: mergeSpans(spans.filter((x) => x.kind === 'delete')),
      observed: spans,
    });
  }
  return out;
}

/** WritePin: the step reaching this revision put key (creating it, if create). */
export interface WritePin {
  readonly key: string;
  readonly create: boolean;
  /** The record the step leaves, when a read saw it at this modRevision. */
  readonly record?: {
    readonly value: string;
    readonly version: number;
    readonly createRevision?: number;
  };
  /** Index of a read that shows it. */
  readonly reader: number;
}

function recordsAgree(a: WritePin['record'], b: WritePin['record']): boolean {
  if (a === undefined || b === undefined) return true;
  if (a.value !== b.value || a.version !== b.version) return false;
  return (
    a.createRevision === undefined ||
    b.createRevision === undefined ||
    a.createRevision === b.createRevision
  );
}

function mergeRecords(a: WritePin['record'], b: WritePin['record']): WritePin['record'] {
  if (a === undefined) return b;
  if (b === undefined || a.createRevision !== undefined) return a;
  return b.createRevision === undefined ? a : { ...a, createRevision: b.createRevision };
}

/** Observation: an ok read saw key = value with this record. */
export interface Observation {
  readonly reader: CheckedOp;
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly version: number;
  readonly createRevision?: number;
}

/** observations lists what an ok get or range saw (present keys only). */
export function observations(o: CheckedOp): Observation[] {
  if (!o.required || o.h.result === null) return [];
  if (o.h.op.type === 'get') {
    const r = o.h.result as GetResult;
    if (r.value === null) return [];
    const seen = {
      reader: o,
      key: o.h.op.key,
      value: r.value,
      modRevision: r.modRevision,
      version: r.version,
    };
    return [r.createRevision === undefined ? seen : { ...seen, createRevision: r.createRevision }];
  }
  if (o.h.op.type === 'range') {
    return (o.h.result as RangeResult).kvs.map((kv) => {
      const seen = {
        reader: o,
        key: kv.key,
        value: kv.value,
        modRevision: kv.modRevision,
        version: kv.version,
      };
      return kv.createRevision === undefined
        ? seen
        : { ...seen, createRevision: kv.createRevision };
    });
  }
  return [];
}

/** A pin that cannot be: below the store's start (old null), or contradicting an earlier one. */
export interface PinConflict {
  readonly at: number;
  readonly old: WritePin | null;
  readonly pin: WritePin;
}

/**
 * gatherWritePins collects the write pins of all ok reads, merging agreeing ones (a create pin
 * says more than a plain one), and stops at the first pin that cannot be.
 */
export function gatherWritePins(
  ops: readonly CheckedOp[],
  initialRevision: number,
): { pins: Map<number, WritePin>; conflict: PinConflict | null } {
  const pins = new Map<number, WritePin>();
  const pinWrite = (at: number, pin: WritePin): PinConflict | null => {
    if (at <= initialRevision) return { at, old: null, pin };
    const old = pins.get(at);
    if (old === undefined) {
      pins.set(at, pin);
      return null;
    }
    if (old.key !== pin.key || !recordsAgree(old.record, pin.record)) return { at, old, pin };
    const record = mergeRecords(old.record, pin.record);
    const merged = { key: pin.key, create: old.create || pin.create, reader: old.reader };
    pins.set(at, record === undefined ? merged : { ...merged, record });
    return null;
  };
  for (const o of ops) {
    for (const seen of observations(o)) {
      const record =
        seen.createRevision === undefined
          ? { value: seen.value, version: seen.version }
          : { value: seen.value, version: seen.version, createRevision: seen.createRevision };
      const conflict =
        pinWrite(seen.modRevision, { key: seen.key, create: false, record, reader: o.index }) ??
        (seen.createRevision === undefined
          ? null
          : pinWrite(seen.createRevision, { key: seen.key, create: true, reader: o.index }));
      if (conflict !== null) return { pins, conflict };
    }
  }
  return { pins, conflict: null };
}
