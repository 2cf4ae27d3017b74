// Txn: validation, compares and execution, with etcd 3.4's rules and order:
//  1. checkTxnRequest: too many ops (compares, success or failure > budget; a nested txn gets
//     the budget minus its parent's largest list), empty keys, invalid ops (an empty op is
//     etcd's "key not found"), value/lease provided with ignoreValue/ignoreLease.
//  2. checkIntervals per branch: a key put twice, or put inside a range deleted in the same
//     branch (nested txns included) is a duplicate-key error. As in etcd, a delete whose
//     rangeEnd is the single zero byte ("all keys >= key") conflicts with nothing (etcd's
//     interval [key, "\x00") is empty), so such a txn may write one key twice.
//  3. compares of the whole chosen path, nested ones included, are evaluated first, all against
//     the state before the txn (etcd's compareToPath on one read view).
//  4. along that path: every put's lease must exist and its ignoreValue/ignoreLease key must
//     exist (checkPut), then every range's revision must be valid (checkRange).
//  5. ops run in order; reads see the txn's earlier writes; one revision for all writes, none
//     if nothing changed.
import type {
  Compare,
  KeyValue,
  LeaseId,
  RequestOp,
  ResponseOp,
  Revision,
  TxnRequest,
  TxnResponse,
} from './types.js';
import { EMPTY_BYTES, NO_LEASE, compareBytes, compareLeaseIds, bytesToLatin1 } from './types.js';
import {
  CompactedError,
  DuplicateKeyError,
  EmptyKeyError,
  FutureRevisionError,
  KeyNotFoundError,
  LeaseNotFoundError,
  LeaseProvidedError,
  TooManyOpsError,
  ValueProvidedError,
  type KvError,
} from './errors.js';
import type { PutRequest } from './types.js';
import { keySpan, type Mvcc } from './mvcc.js';

// ---- 1. request checks ----

/** checkPutRequest: etcd's gRPC-level put checks. */
export function checkPutRequest(r: PutRequest): KvError | null {
  if (r.key.length === 0) return new EmptyKeyError();
  if (r.ignoreValue === true && (r.value?.length ?? 0) !== 0) return new ValueProvidedError();
  if (r.ignoreLease === true && (r.lease ?? NO_LEASE) !== NO_LEASE) return new LeaseProvidedError();
  return null;
}

function checkRequestOp(op: RequestOp | undefined, maxTxnOps: number): KvError | null {
  switch (op?.type) {
    case 'range':
      return op.request.key.length === 0 ? new EmptyKeyError() : null;
    case 'put':
      return checkPutRequest(op.request);
    case 'deleteRange':
      return op.request.key.length === 0 ? new EmptyKeyError() : null;
    case 'txn':
      return checkTxnRequest(op.request, maxTxnOps);
    default:
      // etcd: an op with no request set is "key not found".
      return new KeyNotFoundError('txn op has no request');
  }
}

function checkTxnRequest(r: TxnRequest, maxTxnOps: number): KvError | null {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const opc = Math.max(compare.length, success.length, failure.length);
  if (opc > maxTxnOps) return new TooManyOpsError(maxTxnOps);
  for (const c of compare) if (c.key.length === 0) return new EmptyKeyError();
  for (const op of success) {
    const e = checkRequestOp(op, maxTxnOps - opc);
    if (e !== null) return e;
  }
  for (const op of failure) {
    const e = checkRequestOp(op, maxTxnOps - opc);
    if (e !== null) return e;
  }
  return null;
}

/** Interval [start, end) of latin1 keys; a point is [k, k + '\0'). */
interface Interval {
  readonly start: string;
  readonly end: string;
}

function intersects(dels: readonly Interval[], k: string): boolean {
  for (const d of dels) if (d.start <= k && k < d.end) return true;
  return false;
}

type Intervals = { readonly puts: Set<string>; readonly dels: Interval[] };

function checkIntervals(ops: readonly RequestOp[]): Intervals | DuplicateKeyError {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.type !== 'deleteRange') continue;
    const start = bytesToLatin1(op.request.key);
    const end = op.request.rangeEnd;
    dels.push({
      start,
      end: end === undefined || end.length === 0 ? start + '\0' : bytesToLatin1(end),
    });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.type !== 'txn') continue;
    const then = checkIntervals(op.request.success ?? []);
    if (then instanceof DuplicateKeyError) return then;
    const els = checkIntervals(op.request.failure ?? []);
    if (els instanceof DuplicateKeyError) return els;
    for (const k of then.puts) {
      if (puts.has(k) || intersects(dels, k)) return new DuplicateKeyError();
      puts.add(k);
    }
    for (const k of els.puts) {
      // A key put by both branches of one nested txn is fine: only one branch runs.
      if (puts.has(k) && !then.puts.has(k)) return new DuplicateKeyError();
      if (intersects(dels, k)) return new DuplicateKeyError();
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const k = bytesToLatin1(op.request.key);
    if (puts.has(k) || intersects(dels, k)) return new DuplicateKeyError();
    puts.add(k);
  }
  return { puts, dels };
}

/** validateTxn runs etcd's request-level txn checks (steps 1 and 2). */
export function validateTxn(r: TxnRequest, maxTxnOps: number): KvError | null {
  const e = checkTxnRequest(r, maxTxnOps);
  if (e !== null) return e;
  const s = checkIntervals(r.success ?? []);
  if (s instanceof DuplicateKeyError) return s;
  const f = checkIntervals(r.failure ?? []);
  if (f instanceof DuplicateKeyError) return f;
  return null;
}

// ---- 3. compares ----

const ZERO_KV: KeyValue = {
  key: EMPTY_BYTES,
  value: EMPTY_BYTES,
  createRevision: 0 as Revision,
  modRevision: 0 as Revision,
  version: 0,
  lease: NO_LEASE,
};

function compareKv(c: Compare, kv: KeyValue): boolean {
  let r: number;
  switch (c.target) {
    case 'VALUE':
      r = compareBytes(kv.value, c.value);
      break;
    case 'CREATE':
      r = Math.sign(kv.createRevision - c.createRevision);
      break;
    case 'MOD':
      r = Math.sign(kv.modRevision - c.modRevision);
      break;
    case 'VERSION':
      r = Math.sign(kv.version - c.version);
      break;
    case 'LEASE':
      r = compareLeaseIds(kv.lease, c.lease);
      break;
  }
  switch (c.result) {
    case 'EQUAL':
      return r === 0;
    case 'NOT_EQUAL':
      return r !== 0;
    case 'GREATER':
      return r > 0;
    case 'LESS':
      return r < 0;
  }
}

/** applyCompare: every key of the range must pass; no key compares as the zero KeyValue, except VALUE, which then fails (etcd). */
export function applyCompare(mvcc: Mvcc, c: Compare): boolean {
  const { kvs } = mvcc.rangeKeys(keySpan(c.key, c.rangeEnd), mvcc.currentRevision, 0);
  if (kvs.length === 0) return c.target === 'VALUE' ? false : compareKv(c, ZERO_KV);
  for (const kv of kvs) if (!compareKv(c, kv)) return false;
  return true;
}

/** compareToPath evaluates the compares of the txn and of every nested txn on the chosen path, pre-order. */
export function compareToPath(mvcc: Mvcc, r: TxnRequest): boolean[] {
  const path: boolean[] = [];
  const walk = (t: TxnRequest): void => {
    const ok = (t.compare ?? []).every((c) => applyCompare(mvcc, c));
    path.push(ok);
    for (const op of (ok ? t.success : t.failure) ?? []) if (op.type === 'txn') walk(op.request);
  };
  walk(r);
  return path;
}

/** forEachOpOnPath calls check on every non-txn op of the chosen path, in order; stops at the first error. */
export function forEachOpOnPath(
  r: TxnRequest,
  path: readonly boolean[],
  check: (op: RequestOp) => KvError | null,
): KvError | null {
  let i = 0;
  const walk = (t: TxnRequest): KvError | null => {
    const ok = path[i++]!;
    for (const op of (ok ? t.success : t.failure) ?? []) {
      const e = op.type === 'txn' ? walk(op.request) : check(op);
      if (e !== null) return e;
    }
    return null;
  };
  return walk(r);
}

/** isTxnReadonly: every op of both branches is a range (a nested txn counts as a write, as in etcd). */
export function isTxnReadonly(r: TxnRequest): boolean {
  return [...(r.success ?? []), ...(r.failure ?? [])].every((op) => op.type === 'range');
}

// ---- 4. path checks ----

/** checkPutOnPath is etcd's checkPut, against the state before the txn. */
export function checkPutOnPath(
  mvcc: Mvcc,
  hasLease: (id: LeaseId) => boolean,
  op: RequestOp,
): KvError | null {
  if (op.type !== 'put') return null;
  const r = op.request;
  if (
    (r.ignoreValue === true || r.ignoreLease === true) &&
    mvcc.latest(bytesToLatin1(r.key)) === undefined
  ) {
    return new KeyNotFoundError();
  }
  const lease = r.lease ?? NO_LEASE;
  if (lease !== NO_LEASE && !hasLease(lease)) return new LeaseNotFoundError(lease);
  return null;
}

/**
 * checkRangeOnPath is etcd's checkRange: revision 0 is current; above the current revision is
 * future; below the compact revision (negative ones included, unlike a plain range) is compacted.
 */
export function checkRangeOnPath(mvcc: Mvcc, op: RequestOp): KvError | null {
  if (op.type !== 'range') return null;
  const rev = op.request.revision ?? 0;
  if (rev === 0) return null;
  if (rev > mvcc.currentRevision) return new FutureRevisionError(mvcc.currentRevision);
  if (rev < mvcc.compactRevision) return new CompactedError(mvcc.compactRevision);
  return null;
}

// ---- 5. execution ----

/** TxnWriter performs the writes of a txn op (the store's put and deleteRange). */
export interface TxnWriter {
  put(r: PutRequest): ResponseOp & { type: 'put' };
  deleteRange(op: RequestOp & { type: 'deleteRange' }): ResponseOp & { type: 'deleteRange' };
}

/** executeTxn runs the ops of the chosen path; nested responses get header revision 0, as in etcd. */
export function executeTxn(
  mvcc: Mvcc,
  writer: TxnWriter,
  r: TxnRequest,
  path: readonly boolean[],
): TxnResponse {
  let i = 0;
  const run = (t: TxnRequest): TxnResponse => {
    const ok = path[i++]!;
    const responses: ResponseOp[] = [];
    for (const op of (ok ? t.success : t.failure) ?? []) {
      switch (op.type) {
        case 'range':
          responses.push({ type: 'range', response: mvcc.range(op.request) });
          break;
        case 'put':
          responses.push(writer.put(op.request));
          break;
        case 'deleteRange':
          responses.push(writer.deleteRange(op));
          break;
        case 'txn':
          responses.push({ type: 'txn', response: run(op.request) });
          break;
      }
    }
    return { header: { revision: 0 as Revision }, succeeded: ok, responses };
  };
  return run(r);
}
