// Turns a validated history into the operations the search must order.
//
// Dropped before the search, each sound on its own:
// - `fail` operations: by definition they did not take effect.
// - serializable reads: they may be stale by design; the simulator checks them separately.
// - `unknown` reads (get, range): no result to check and no effect on the store, so no
//   linearization depends on them.
import type { HistoryOp } from './history';

/** CheckedOp is an operation the search orders. */
export interface CheckedOp {
  /** Dense index, 0..n-1: required operations first (by call time), then unknown ones. */
  readonly index: number;
  readonly h: HistoryOp;
  /** Outcome ok: it must be linearized and its result must match the model exactly. */
  readonly required: boolean;
  readonly call: number;
  /** Return time; +Infinity for unknown outcomes (they may take effect at any later time). */
  readonly ret: number;
}

/** HistoryStats counts what the checker did with each operation. */
export interface HistoryStats {
  readonly total: number;
  /** Operations the search orders (required + unknown writes). */
  readonly checked: number;
  readonly required: number;
  readonly unknownWrites: number;
  readonly droppedFailed: number;
  readonly droppedUnknownReads: number;
  readonly ignoredSerializable: number;
}

export interface Prepared {
  readonly ops: readonly CheckedOp[];
  /** `fail` operations, kept only to explain a read of a value that only they wrote. */
  readonly failed: readonly HistoryOp[];
  readonly stats: HistoryStats;
}

function isRead(h: HistoryOp): boolean {
  return h.op.type === 'get' || h.op.type === 'range';
}

export function prepareHistory(history: readonly HistoryOp[]): Prepared {
  const required: HistoryOp[] = [];
  const unknown: HistoryOp[] = [];
  const failed: HistoryOp[] = [];
  let droppedUnknownReads = 0;
  let ignoredSerializable = 0;
  for (const h of history) {
    if (h.op.type === 'get' && h.op.serializable === true) ignoredSerializable++;
    else if (h.outcome === 'fail') failed.push(h);
    else if (h.outcome === 'ok') required.push(h);
    else if (isRead(h)) droppedUnknownReads++;
    else unknown.push(h);
  }
  // Required first so that the linearized-set bitsets of the search share a long all-ones
  // prefix (unknown operations may stay unplaced to the end); ties broken by id for determinism.
  const byCall = (a: HistoryOp, b: HistoryOp): number => a.call - b.call || a.id - b.id;
  required.sort(byCall);
  unknown.sort(byCall);
  const ops: CheckedOp[] = [];
  for (const h of required) {
    // parseHistoryOp guarantees an ok operation has a return time.
    ops.push({ index: ops.length, h, required: true, call: h.call, ret: h.return ?? Infinity });
  }
  for (const h of unknown)
    ops.push({ index: ops.length, h, required: false, call: h.call, ret: Infinity });
  return {
    ops,
    failed,
    stats: {
      total: history.length,
      checked: ops.length,
      required: required.length,
      unknownWrites: unknown.length,
      droppedFailed: failed.length,
      droppedUnknownReads,
      ignoredSerializable,
    },
  };
}
