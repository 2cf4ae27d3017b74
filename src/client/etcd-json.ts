// The etcd v3 JSON gateway's encoding (grpc-gateway's proto3 JSON; see ETCD-GATEWAY.md):
// bytes are base64, 64-bit integers are strings, fields holding their default are omitted, field
// names are snake_case (lease messages use their proto names: ID, TTL, grantedTTL). Encoders
// build request bodies from the KV request types; decoders validate every answer once, here,
// and build the KV response types, so the rest of EtcdClient trusts what it gets.
import {
  CompactedError,
  DuplicateKeyError,
  EmptyKeyError,
  FutureRevisionError,
  KeyNotFoundError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseNotPrimaryError,
  LeaseProvidedError,
  LeaseTtlTooLargeError,
  QuotaExceededError,
  RequestTooLargeError,
  TooManyOpsError,
  ValueProvidedError,
  EMPTY_BYTES,
  NO_LEASE,
  leaseId,
  type Compare,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type LeaseId,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type Revision,
  type TxnRequest,
  type TxnResponse,
  type WatchEvent,
} from '../kv/index.js';
import {
  NoQuorumError,
  NotLeaderError,
  ProposalRefusedError,
  StoppedError,
  TimeoutError,
} from '../node/errors.js';
import { fromBase64, toBase64 } from './bytes.js';
import { EtcdServerError, InternalError, type TabdError } from './errors.js';
import type { ResponseHeader } from './types.js';

/** Json is a parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

// ---------------------------------------------------------------- encoding

type Body = Record<string, unknown>;

/** omitDefaults drops fields holding proto3 defaults, as etcd's own clients send. */
function clean(o: Body): Body {
  const out: Body = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === false || v === 0 || v === '' || v === '0') continue;
    out[k] = v;
  }
  return out;
}

const b64 = (b: Uint8Array | undefined): string | undefined =>
  b === undefined || b.length === 0 ? undefined : toBase64(b);
const i64 = (n: number | undefined): string | undefined =>
  n === undefined || n === 0 ? undefined : String(n);

export function encodeRange(r: RangeRequest): Body {
  return clean({
    key: b64(r.key),
    range_end: b64(r.rangeEnd),
    limit: i64(r.limit),
    revision: i64(r.revision),
    sort_order: r.sortOrder === 'NONE' ? undefined : r.sortOrder,
    sort_target: r.sortTarget === 'KEY' ? undefined : r.sortTarget,
    serializable: r.serializable,
    keys_only: r.keysOnly,
    count_only: r.countOnly,
    min_mod_revision: i64(r.minModRevision),
    max_mod_revision: i64(r.maxModRevision),
    min_create_revision: i64(r.minCreateRevision),
    max_create_revision: i64(r.maxCreateRevision),
  });
}

export function encodePut(r: PutRequest): Body {
  return clean({
    key: b64(r.key),
    value: b64(r.value),
    lease: r.lease,
    prev_kv: r.prevKv,
    ignore_value: r.ignoreValue,
    ignore_lease: r.ignoreLease,
  });
}

export function encodeDelete(r: DeleteRangeRequest): Body {
  return clean({ key: b64(r.key), range_end: b64(r.rangeEnd), prev_kv: r.prevKv });
}

function encodeCompare(c: Compare): Body {
  const base = clean({ key: b64(c.key), range_end: b64(c.rangeEnd) });
  // The operand is sent even when it is the default: a oneof member set to 0 is still "set".
  const head = { ...base, result: c.result, target: c.target };
  switch (c.target) {
    case 'VERSION':
      return { ...head, version: String(c.version) };
    case 'CREATE':
      return { ...head, create_revision: String(c.createRevision) };
    case 'MOD':
      return { ...head, mod_revision: String(c.modRevision) };
    case 'VALUE':
      return { ...head, value: toBase64(c.value) };
    case 'LEASE':
      return { ...head, lease: c.lease };
  }
}

function encodeOp(op: RequestOp): Body {
  switch (op.type) {
    case 'range':
      return { request_range: encodeRange(op.request) };
    case 'put':
      return { request_put: encodePut(op.request) };
    case 'deleteRange':
      return { request_delete_range: encodeDelete(op.request) };
    case 'txn':
      return { request_txn: encodeTxn(op.request) };
  }
}

export function encodeTxn(r: TxnRequest): Body {
  const out: Body = {};
  if (r.compare && r.compare.length > 0) out['compare'] = r.compare.map(encodeCompare);
  if (r.success && r.success.length > 0) out['success'] = r.success.map(encodeOp);
  if (r.failure && r.failure.length > 0) out['failure'] = r.failure.map(encodeOp);
  return out;
}

// ---------------------------------------------------------------- decoding

/** MalformedAnswer: an answer that is not what etcd's gateway sends. */
function malformed(what: string): InternalError {
  return new InternalError(`malformed answer from etcd: ${what}`);
}

export function asObject(v: Json | undefined, what: string): JsonObject {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw malformed(`${what} is not an object`);
  return v;
}

function asArray(v: Json | undefined, what: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed(`${what} is not an array`);
  return v;
}

/** int64 reads a proto3 JSON int64 (a decimal string, or a number) that must be a safe integer. */
export function int64(v: Json | undefined, what: string): number {
  if (v === undefined || v === null) return 0;
  const n =
    typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isSafeInteger(n))
    throw malformed(`${what} is not a safe int64: ${JSON.stringify(v)}`);
  return n;
}

function bool(v: Json | undefined, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw malformed(`${what} is not a boolean`);
  return v;
}

function str(v: Json | undefined, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw malformed(`${what} is not a string`);
  return v;
}

function bytes(v: Json | undefined, what: string): Uint8Array {
  const s = str(v, what);
  if (s === '') return EMPTY_BYTES;
  const b = fromBase64(s);
  if (b === undefined) throw malformed(`${what} is not base64`);
  return b;
}

function lease(v: Json | undefined, what: string): LeaseId {
  if (v === undefined || v === null) return NO_LEASE;
  if (typeof v !== 'string' && typeof v !== 'number') throw malformed(`${what} is not an int64`);
  try {
    return leaseId(typeof v === 'number' ? v : v);
  } catch {
    throw malformed(`${what} is not an int64`);
  }
}

const rev = (v: Json | undefined, what: string): Revision => int64(v, what) as Revision;

export function decodeHeader(v: Json | undefined): ResponseHeader {
  const h = asObject(v, 'header');
  return {
    revision: rev(h['revision'], 'header.revision'),
    memberId: str(h['member_id'], 'header.member_id'),
    raftTerm: int64(h['raft_term'], 'header.raft_term'),
    clusterId: str(h['cluster_id'], 'header.cluster_id'),
  };
}

/** decodeInnerHeader: a header inside a txn answer (revision only; etcd leaves a nested txn's empty). */
function decodeInnerHeader(v: Json | undefined): { revision: Revision } {
  return { revision: rev(asObject(v, 'header')['revision'], 'header.revision') };
}

export function decodeKv(v: Json | undefined): KeyValue {
  const o = asObject(v, 'kv');
  return {
    key: bytes(o['key'], 'kv.key'),
    value: bytes(o['value'], 'kv.value'),
    createRevision: rev(o['create_revision'], 'kv.create_revision'),
    modRevision: rev(o['mod_revision'], 'kv.mod_revision'),
    version: int64(o['version'], 'kv.version'),
    lease: lease(o['lease'], 'kv.lease'),
  };
}

function rangeBody(o: JsonObject): Omit<RangeResponse, 'header'> {
  return {
    kvs: asArray(o['kvs'], 'kvs').map(decodeKv),
    more: bool(o['more'], 'more'),
    count: int64(o['count'], 'count'),
  };
}

export function decodeRange(v: Json): RangeResponse & { header: ResponseHeader } {
  const o = asObject(v, 'range answer');
  return { header: decodeHeader(o['header']), ...rangeBody(o) };
}

function putBody(o: JsonObject): Omit<PutResponse, 'header'> {
  return o['prev_kv'] === undefined ? {} : { prevKv: decodeKv(o['prev_kv']) };
}

export function decodePut(v: Json): PutResponse & { header: ResponseHeader } {
  const o = asObject(v, 'put answer');
  return { header: decodeHeader(o['header']), ...putBody(o) };
}

function deleteBody(o: JsonObject): Omit<DeleteRangeResponse, 'header'> {
  return {
    deleted: int64(o['deleted'], 'deleted'),
    prevKvs: asArray(o['prev_kvs'], 'prev_kvs').map(decodeKv),
  };
}

export function decodeDelete(v: Json): DeleteRangeResponse & { header: ResponseHeader } {
  const o = asObject(v, 'delete answer');
  return { header: decodeHeader(o['header']), ...deleteBody(o) };
}

function decodeResponseOp(v: Json): ResponseOp {
  const o = asObject(v, 'txn response op');
  if (o['response_range'] !== undefined) {
    const r = asObject(o['response_range'], 'response_range');
    return { type: 'range', response: { header: decodeInnerHeader(r['header']), ...rangeBody(r) } };
  }
  if (o['response_put'] !== undefined) {
    const r = asObject(o['response_put'], 'response_put');
    return { type: 'put', response: { header: decodeInnerHeader(r['header']), ...putBody(r) } };
  }
  if (o['response_delete_range'] !== undefined) {
    const r = asObject(o['response_delete_range'], 'response_delete_range');
    return {
      type: 'deleteRange',
      response: { header: decodeInnerHeader(r['header']), ...deleteBody(r) },
    };
  }
  if (o['response_txn'] !== undefined) {
    const r = asObject(o['response_txn'], 'response_txn');
    return { type: 'txn', response: { header: decodeInnerHeader(r['header']), ...txnBody(r) } };
  }
  throw malformed('txn response op of no known kind');
}

function txnBody(o: JsonObject): Omit<TxnResponse, 'header'> {
  return {
    succeeded: bool(o['succeeded'], 'succeeded'),
    responses: asArray(o['responses'], 'responses').map(decodeResponseOp),
  };
}

export function decodeTxn(v: Json): TxnResponse & { header: ResponseHeader } {
  const o = asObject(v, 'txn answer');
  return { header: decodeHeader(o['header']), ...txnBody(o) };
}

export function decodeEvent(v: Json): WatchEvent {
  const o = asObject(v, 'event');
  const type = str(o['type'], 'event.type');
  if (type !== '' && type !== 'PUT' && type !== 'DELETE') throw malformed(`event type '${type}'`);
  const kv = decodeKv(o['kv']);
  return {
    type: type === 'DELETE' ? 'DELETE' : 'PUT',
    kv,
    ...(o['prev_kv'] === undefined ? {} : { prevKv: decodeKv(o['prev_kv']) }),
  };
}

export const json = { str, int64, bool, bytes, lease, asArray };

// ---------------------------------------------------------------- errors

/** EtcdErrorContext: what the request was about, to fill in typed errors (e.g. the lease id). */
export interface EtcdErrorContext {
  readonly leaseId?: string;
}

/**
 * etcdError maps an etcd error answer (gRPC code + message) to tabd's typed error. Fields etcd's
 * message does not carry (the compact revision of `compacted`, sizes of `value-too-large`) are 0.
 */
export function etcdError(
  grpcCode: number,
  message: string,
  ctx: EtcdErrorContext = {},
): TabdError {
  // Past MaxRequestBytes + 512 KiB, gRPC itself refuses the request before etcd sees it: the
  // same condition (a request too large), reported by another layer.
  if (message.startsWith('grpc: received message larger than max'))
    return new RequestTooLargeError(0, 0);
  const m = message.startsWith('etcdserver: ') ? message : `etcdserver: ${message}`;
  switch (m) {
    case 'etcdserver: mvcc: required revision has been compacted':
      return new CompactedError(0);
    case 'etcdserver: mvcc: required revision is a future revision':
      return new FutureRevisionError(0);
    case 'etcdserver: request is too large':
      return new RequestTooLargeError(0, 0);
    case 'etcdserver: too many operations in txn request':
      return new TooManyOpsError(0);
    case 'etcdserver: duplicate key given in txn request':
      return new DuplicateKeyError();
    case 'etcdserver: requested lease not found':
      return new LeaseNotFoundError(ctx.leaseId ?? '');
    case 'etcdserver: lease already exists':
      return new LeaseExistsError(ctx.leaseId ?? '');
    case 'etcdserver: too large lease TTL':
      return new LeaseTtlTooLargeError(0);
    case 'etcdserver: not primary':
      return new LeaseNotPrimaryError();
    case 'etcdserver: key not found':
      return new KeyNotFoundError();
    case 'etcdserver: key is not provided':
      return new EmptyKeyError();
    case 'etcdserver: value is provided':
      return new ValueProvidedError();
    case 'etcdserver: lease is provided':
      return new LeaseProvidedError();
    case 'etcdserver: mvcc: database space exceeded':
      return new QuotaExceededError(0, 0);
    case 'etcdserver: no leader':
      return new NoQuorumError('etcd: no leader');
    case 'etcdserver: not leader':
      return new NotLeaderError('');
    case 'etcdserver: request timed out':
    case 'etcdserver: request timed out, possibly due to previous leader failure':
    case 'etcdserver: request timed out, possibly due to connection lost':
    case 'etcdserver: request timed out, waiting for the applied index took too long':
      return new TimeoutError('etcd request');
    case 'etcdserver: leader changed':
      return new ProposalRefusedError('leader changed');
    case 'etcdserver: too many requests':
      return new ProposalRefusedError('too many requests');
    case 'etcdserver: server stopped':
      return new StoppedError('etcd: server stopped');
    default:
      return new EtcdServerError(grpcCode, message);
  }
}

/** decodeErrorBody maps a gateway error body ({error, message, code}) to a typed error. */
export function decodeErrorBody(v: Json, ctx: EtcdErrorContext = {}): TabdError {
  const o = asObject(v, 'error answer');
  const message =
    typeof o['message'] === 'string'
      ? o['message']
      : typeof o['error'] === 'string'
        ? o['error']
        : '';
  const code =
    typeof o['code'] === 'number'
      ? o['code']
      : typeof o['grpc_code'] === 'number'
        ? o['grpc_code']
        : 2;
  if (message === '') return new EtcdServerError(code, JSON.stringify(v));
  return etcdError(code, message, ctx);
}
