// The txn builder and its helpers, in the manner of clientv3's Txn/If/Then/Else/Commit:
//
//   await client
//     .if(compare.value('cfg', '=', 'old'), compare.version('lock', '=', 0))
//     .then(op.put('cfg', 'new'), op.get('cfg'))
//     .else(op.get('cfg'))
//     .commit();
//
// `compare.*` and `op.*` build the raw etcd shapes (Compare, RequestOp) that `client.txn` takes,
// so a builder and a hand-written TxnRequest are interchangeable.
import {
  leaseId,
  type Compare,
  type CompareResult,
  type RequestOp,
  type TxnRequest,
} from '../kv/index.js';
import { rangeEndOf, toBytes, type Bytes, type KeyRangeOptions } from './bytes.js';
import type { DeleteOptions, GetOptions, LeaseIdInput, PutOptions, TxnResponse } from './types.js';

/** CompareOp is a compare's operator, written as in etcdctl. */
export type CompareOp = '=' | '!=' | '>' | '<';

const RESULT: Record<CompareOp, CompareResult> = {
  '=': 'EQUAL',
  '!=': 'NOT_EQUAL',
  '>': 'GREATER',
  '<': 'LESS',
};

function resultOf(opr: CompareOp): CompareResult {
  const r = RESULT[opr];
  if (r === undefined)
    throw new TypeError(`compare operator must be one of = != > <, got '${String(opr)}'`);
  return r;
}

function base(key: Bytes, opr: CompareOp, range: KeyRangeOptions | undefined) {
  const k = toBytes(key);
  const rangeEnd = rangeEndOf(k, range);
  return { key: k, result: resultOf(opr), ...(rangeEnd === undefined ? {} : { rangeEnd }) };
}

/**
 * compare builds txn guards. With a range (prefix, fromKey, rangeEnd), every key of the range
 * must satisfy the guard. A missing key has version, createRevision, modRevision 0 and lease 0;
 * a value compare on a missing key is false.
 */
export const compare = {
  value: (key: Bytes, opr: CompareOp, value: Bytes, range?: KeyRangeOptions): Compare => ({
    ...base(key, opr, range),
    target: 'VALUE',
    value: toBytes(value),
  }),
  version: (key: Bytes, opr: CompareOp, version: number, range?: KeyRangeOptions): Compare => ({
    ...base(key, opr, range),
    target: 'VERSION',
    version,
  }),
  createRevision: (
    key: Bytes,
    opr: CompareOp,
    revision: number,
    range?: KeyRangeOptions,
  ): Compare => ({
    ...base(key, opr, range),
    target: 'CREATE',
    createRevision: revision,
  }),
  modRevision: (
    key: Bytes,
    opr: CompareOp,
    revision: number,
    range?: KeyRangeOptions,
  ): Compare => ({
    ...base(key, opr, range),
    target: 'MOD',
    modRevision: revision,
  }),
  lease: (key: Bytes, opr: CompareOp, id: LeaseIdInput, range?: KeyRangeOptions): Compare => ({
    ...base(key, opr, range),
    target: 'LEASE',
    lease: leaseId(id),
  }),
} as const;

/** putRequest builds etcd's PutRequest from the client's arguments. */
export function putRequest(key: Bytes, value: Bytes | undefined, opts: PutOptions = {}) {
  const v = value === undefined ? undefined : toBytes(value);
  return {
    key: toBytes(key),
    ...(v === undefined || v.length === 0 ? {} : { value: v }),
    ...(opts.lease === undefined ? {} : { lease: leaseId(opts.lease) }),
    ...(opts.prevKv === true ? { prevKv: true } : {}),
    ...(opts.ignoreValue === true ? { ignoreValue: true } : {}),
    ...(opts.ignoreLease === true ? { ignoreLease: true } : {}),
  };
}

/** rangeRequest builds etcd's RangeRequest from the client's arguments. */
export function rangeRequest(key: Bytes, opts: GetOptions = {}) {
  const k = toBytes(key);
  const rangeEnd = rangeEndOf(k, opts);
  const num = (name: keyof GetOptions) => {
    const v = opts[name];
    return typeof v === 'number' && v !== 0 ? { [name]: v } : {};
  };
  return {
    key: k,
    ...(rangeEnd === undefined ? {} : { rangeEnd }),
    ...num('limit'),
    ...num('revision'),
    ...num('minModRevision'),
    ...num('maxModRevision'),
    ...num('minCreateRevision'),
    ...num('maxCreateRevision'),
    ...(opts.sortOrder === undefined ? {} : { sortOrder: opts.sortOrder }),
    ...(opts.sortTarget === undefined ? {} : { sortTarget: opts.sortTarget }),
    ...(opts.serializable === true ? { serializable: true } : {}),
    ...(opts.keysOnly === true ? { keysOnly: true } : {}),
    ...(opts.countOnly === true ? { countOnly: true } : {}),
  };
}

/** deleteRequest builds etcd's DeleteRangeRequest from the client's arguments. */
export function deleteRequest(key: Bytes, opts: DeleteOptions = {}) {
  const k = toBytes(key);
  const rangeEnd = rangeEndOf(k, opts);
  return {
    key: k,
    ...(rangeEnd === undefined ? {} : { rangeEnd }),
    ...(opts.prevKv === true ? { prevKv: true } : {}),
  };
}

/** op builds txn operations (the arguments are those of put, get and delete). */
export const op = {
  put: (key: Bytes, value: Bytes, opts?: PutOptions): RequestOp => ({
    type: 'put',
    request: putRequest(key, value, opts),
  }),
  get: (key: Bytes, opts?: GetOptions): RequestOp => ({
    type: 'range',
    request: rangeRequest(key, opts),
  }),
  delete: (key: Bytes, opts?: DeleteOptions): RequestOp => ({
    type: 'deleteRange',
    request: deleteRequest(key, opts),
  }),
  /** txn nests a txn (etcd 3.4): its compares are evaluated with the outer ones, before any op runs. */
  txn: (
    compares: readonly Compare[],
    success: readonly RequestOp[],
    failure: readonly RequestOp[] = [],
  ): RequestOp => ({
    type: 'txn',
    request: { compare: compares, success, failure },
  }),
} as const;

/**
 * TxnBuilder collects a txn's compares, success ops (then) and failure ops (else). then and else
 * may each be called once, in that order, as in clientv3; commit sends the txn.
 */
export class TxnBuilder {
  private success: readonly RequestOp[] = [];
  private failure: readonly RequestOp[] = [];
  private state: 'if' | 'then' | 'else' = 'if';

  constructor(
    private readonly send: (req: TxnRequest) => Promise<TxnResponse>,
    private readonly compares: readonly Compare[],
  ) {}

  then(...ops: RequestOp[]): this {
    if (this.state !== 'if') throw new TypeError('txn: then() must come once, before else()');
    this.state = 'then';
    this.success = ops;
    return this;
  }

  else(...ops: RequestOp[]): this {
    if (this.state === 'else') throw new TypeError('txn: else() may be called once');
    this.state = 'else';
    this.failure = ops;
    return this;
  }

  /** request is the TxnRequest this builder sends. */
  request(): TxnRequest {
    return { compare: this.compares, success: this.success, failure: this.failure };
  }

  commit(): Promise<TxnResponse> {
    return this.send(this.request());
  }
}
