// Helpers for the lincheck tests: a builder for hand-written histories, an independent check of a
// returned witness, and a brute-force linearizability decision for tiny histories.
import {
  applyOp,
  defaultModelOptions,
  initialState,
  resultMatches,
  type ModelOptions,
} from './etcd-model';
import type {
  DeleteOp,
  GetOp,
  GetResult,
  HistoryOp,
  KvOp,
  LeaseGrantOp,
  LeaseRevokeOp,
  OpResult,
  PutOp,
  PutWithLeaseOp,
  RangeKv,
  RangeOp,
  RangeResult,
  TxnCasOp,
} from './history';

export const put = (key: string, value: string): PutOp => ({ type: 'put', key, value });
export const get = (key: string): GetOp => ({ type: 'get', key });
export const staleGet = (key: string): GetOp => ({ type: 'get', key, serializable: true });
export const range = (key: string, rangeEnd: string): RangeOp => ({ type: 'range', key, rangeEnd });
export const del = (key: string): DeleteOp => ({ type: 'delete', key });
export const casMod = (key: string, expectedModRevision: number, value: string): TxnCasOp => ({
  type: 'txn-cas',
  key,
  expectedModRevision,
  value,
});
export const casValue = (key: string, expectedValue: string, value: string): TxnCasOp => ({
  type: 'txn-cas',
  key,
  expectedValue,
  value,
});
export const grant = (lease: number): LeaseGrantOp => ({ type: 'lease-grant', lease });
export const putLease = (key: string, value: string, lease: number): PutWithLeaseOp => ({
  type: 'put-with-lease',
  key,
  value,
  lease,
});
export const revoke = (lease: number): LeaseRevokeOp => ({ type: 'lease-revoke', lease });

export const rev = (revision: number): { revision: number } => ({ revision });
export const seen = (
  revision: number,
  value: string,
  modRevision: number,
  version: number,
): GetResult => ({
  revision,
  value,
  modRevision,
  version,
});
export const absent = (revision: number): GetResult => ({
  revision,
  value: null,
  modRevision: 0,
  version: 0,
});
export const kv = (key: string, value: string, modRevision: number, version: number): RangeKv => ({
  key,
  value,
  modRevision,
  version,
});
export const kvs = (revision: number, ...list: RangeKv[]): RangeResult => ({
  revision,
  kvs: list,
  count: list.length,
});

/** HistoryBuilder writes histories by hand: `h.ok(client, call, ret, op, result)`. */
export class HistoryBuilder {
  private nextId = 1;
  readonly ops: HistoryOp[] = [];

  ok(client: number, call: number, ret: number, op: KvOp, result: OpResult): number {
    return this.add({ client, call, return: ret, op, result, outcome: 'ok' });
  }

  unknown(client: number, call: number, op: KvOp): number {
    return this.add({ client, call, return: null, op, result: null, outcome: 'unknown' });
  }

  fail(client: number, call: number, ret: number, op: KvOp): number {
    return this.add({
      client,
      call,
      return: ret,
      op,
      result: null,
      outcome: 'fail',
      error: 'not-leader',
    });
  }

  private add(op: Omit<HistoryOp, 'id'>): number {
    const id = this.nextId++;
    this.ops.push({ id, ...op });
    return id;
  }
}

function isCheckedRead(h: HistoryOp): boolean {
  return h.op.type === 'get' || h.op.type === 'range';
}

/**
 * verifyWitness checks, without the checker's code paths, that `order` (history ids) is a
 * linearization: every ok op (except serializable reads) appears once, no failed op appears,
 * real time is respected, and the model reproduces every ok result. Returns a problem or null.
 */
export function verifyWitness(
  history: readonly HistoryOp[],
  order: readonly number[],
  options: ModelOptions = defaultModelOptions,
): string | null {
  const byId = new Map(history.map((h) => [h.id, h]));
  const position = new Map<number, number>();
  order.forEach((id, k) => position.set(id, k));
  if (position.size !== order.length) return 'an op appears twice';
  for (const h of history) {
    const serializable = h.op.type === 'get' && h.op.serializable === true;
    if (h.outcome === 'ok' && !serializable && !position.has(h.id)) return `ok op #${h.id} missing`;
    if (h.outcome === 'fail' && position.has(h.id)) return `failed op #${h.id} placed`;
    if (serializable && position.has(h.id)) return `serializable op #${h.id} placed`;
  }
  for (const a of order) {
    for (const b of order) {
      const ha = byId.get(a);
      const hb = byId.get(b);
      if (ha === undefined || hb === undefined) return `unknown id in witness`;
      if (ha.return !== null && ha.outcome === 'ok' && ha.return < hb.call) {
        if ((position.get(a) ?? 0) > (position.get(b) ?? 0))
          return `#${a} returned before #${b} was called but comes after it`;
      }
    }
  }
  let state = initialState(options);
  for (const id of order) {
    const h = byId.get(id);
    if (h === undefined) return 'unknown id';
    const applied = applyOp(state, h.op, options);
    if (
      h.outcome === 'ok' &&
      (h.result === null || !resultMatches(h.op, h.result, applied.response))
    ) {
      return `#${id} result does not match the model`;
    }
    state = applied.state;
  }
  return null;
}

/**
 * bruteForceLinearizable decides linearizability by trying every order of every subset of the
 * unknown operations: the definition, with no pruning and no memoization. Only for a handful of
 * operations.
 */
export function bruteForceLinearizable(
  history: readonly HistoryOp[],
  options: ModelOptions = defaultModelOptions,
): boolean {
  const ops = history.filter((h) => {
    if (h.op.type === 'get' && h.op.serializable === true) return false;
    if (h.outcome === 'fail') return false;
    return !(h.outcome === 'unknown' && isCheckedRead(h));
  });
  if (ops.length > 9) throw new Error('bruteForceLinearizable: too many operations');
  const used = new Array<boolean>(ops.length).fill(false);
  const retOf = (h: HistoryOp): number =>
    h.outcome === 'ok' && h.return !== null ? h.return : Infinity;
  const go = (
    state: ReturnType<typeof initialState>,
    placedRequired: number,
    requiredTotal: number,
  ): boolean => {
    if (placedRequired === requiredTotal) return true;
    for (let i = 0; i < ops.length; i++) {
      const h = ops[i];
      if (h === undefined || used[i]) continue;
      // Every unplaced op that returned before h was called must come first.
      let blocked = false;
      for (let j = 0; j < ops.length; j++) {
        const g = ops[j];
        if (g !== undefined && !used[j] && j !== i && retOf(g) < h.call) blocked = true;
      }
      if (blocked) continue;
      const applied = applyOp(state, h.op, options);
      if (
        h.outcome === 'ok' &&
        (h.result === null || !resultMatches(h.op, h.result, applied.response))
      )
        continue;
      used[i] = true;
      const found = go(applied.state, placedRequired + (h.outcome === 'ok' ? 1 : 0), requiredTotal);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return go(initialState(options), 0, ops.filter((h) => h.outcome === 'ok').length);
}
