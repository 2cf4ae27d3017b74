// Types of the KV state machine: ids, key-values, and the etcd v3 (3.4) request and response
// shapes it applies. Field meanings follow etcd's rpc.proto; a field left out means proto3's
// default (0, false, empty), so `{ key }` is a valid RangeRequest exactly as in etcd.
import { MalformedRequestError } from './errors.js';

declare const revisionBrand: unique symbol;
declare const leaseIdBrand: unique symbol;
declare const watchIdBrand: unique symbol;

/** Revision is the store's global revision counter (etcd's `main` revision; starts at 1). */
export type Revision = number & { readonly [revisionBrand]: true };
/**
 * LeaseId is a lease id: the canonical decimal form of a signed int64 ('0' means no lease).
 * etcd's ids use all 63 bits, beyond 2^53, so they are strings; order them with compareLeaseIds.
 */
export type LeaseId = string & { readonly [leaseIdBrand]: true };
/** WatchId identifies a watcher in a WatchHub; -1 answers a watch that could not be created. */
export type WatchId = number & { readonly [watchIdBrand]: true };

export const NO_LEASE = '0' as LeaseId;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** revision brands a safe integer as a Revision (throws MalformedRequestError otherwise). */
export function revision(n: number): Revision {
  if (!Number.isSafeInteger(n))
    throw new MalformedRequestError(`revision ${n} is not a safe integer`);
  return n as Revision;
}

/** leaseId parses a signed int64 (decimal string, bigint or safe integer) into a LeaseId. */
export function leaseId(v: string | bigint | number): LeaseId {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v))
      throw new MalformedRequestError(`lease id ${v} is not an integer`);
    b = BigInt(v);
  } else {
    if (!/^-?\d{1,20}$/.test(v))
      throw new MalformedRequestError(`lease id '${v}' is not a decimal int64`);
    b = BigInt(v);
  }
  if (b < INT64_MIN || b > INT64_MAX)
    throw new MalformedRequestError(`lease id ${b} is out of int64 range`);
  return b.toString() as LeaseId;
}

/** isLeaseId tells whether s is a LeaseId in canonical form (what leaseId would return). */
export function isLeaseId(s: string): s is LeaseId {
  if (!/^(0|-?[1-9]\d{0,18})$/.test(s)) return false;
  const b = BigInt(s);
  return b >= INT64_MIN && b <= INT64_MAX;
}

/** compareLeaseIds orders lease ids numerically as signed int64 (like etcd's int64 compare). */
export function compareLeaseIds(a: LeaseId, b: LeaseId): number {
  if (a === b) return 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * KeyValue is one version of one key, as etcd's mvccpb.KeyValue. Objects handed out by the store
 * are shared with its history: treat them, and their byte arrays, as read-only.
 * Invariant: a live version has version >= 1 and createRevision <= modRevision; a deletion
 * (tombstone, as in a DELETE watch event) has only key and modRevision set.
 */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly createRevision: Revision;
  readonly modRevision: Revision;
  readonly version: number;
  readonly lease: LeaseId;
}

/** ResponseHeader carries the store revision (etcd's header.revision; cluster ids are added by the node). */
export interface ResponseHeader {
  readonly revision: Revision;
}

export const SortOrder = { NONE: 'NONE', ASCEND: 'ASCEND', DESCEND: 'DESCEND' } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

export const SortTarget = {
  KEY: 'KEY',
  VERSION: 'VERSION',
  CREATE: 'CREATE',
  MOD: 'MOD',
  VALUE: 'VALUE',
} as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

/**
 * RangeRequest is etcd's RangeRequest. rangeEnd: absent or empty = the single key `key`;
 * one zero byte = every key >= key; otherwise the half-open interval [key, rangeEnd).
 * limit <= 0 and revision <= 0 mean none and current.
 */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly limit?: number;
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** serializable is honoured by the node (no ReadIndex); the store itself ignores it. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: readonly KeyValue[];
  /** more: there were more than `limit` matching keys (after the min/max filters). */
  readonly more: boolean;
  /** count: keys in the range at that revision, before limit and min/max filters (etcd). */
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: LeaseId;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

export const CompareTarget = {
  VERSION: 'VERSION',
  CREATE: 'CREATE',
  MOD: 'MOD',
  VALUE: 'VALUE',
  LEASE: 'LEASE',
} as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

export const CompareResult = {
  EQUAL: 'EQUAL',
  GREATER: 'GREATER',
  LESS: 'LESS',
  NOT_EQUAL: 'NOT_EQUAL',
} as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

interface CompareBase {
  readonly key: Uint8Array;
  /** rangeEnd: as in RangeRequest; every key of the range must satisfy the compare. */
  readonly rangeEnd?: Uint8Array;
  readonly result: CompareResult;
}
/** Compare is one txn guard (etcd's Compare; the operand is the field named after the target). */
export type Compare =
  | (CompareBase & { readonly target: 'VERSION'; readonly version: number })
  | (CompareBase & { readonly target: 'CREATE'; readonly createRevision: number })
  | (CompareBase & { readonly target: 'MOD'; readonly modRevision: number })
  | (CompareBase & { readonly target: 'VALUE'; readonly value: Uint8Array })
  | (CompareBase & { readonly target: 'LEASE'; readonly lease: LeaseId });

/** RequestOp is one txn operation; nested txns are allowed as in etcd 3.4. */
export type RequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest };

export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse };

export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

/** TxnResponse: a nested txn's header has revision 0, as etcd leaves it empty. */
export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: number;
  /** physical is accepted for etcd compatibility; compaction here is always complete on return. */
  readonly physical?: boolean;
}
export interface CompactionResponse {
  readonly header: ResponseHeader;
}

export interface LeaseGrantRequest {
  readonly ttlSeconds: number;
  /** id: absent or '0' = chosen by the store, deterministically from the Raft index. */
  readonly id?: LeaseId;
}
export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  readonly ttlSeconds: number;
}
export interface LeaseRevokeRequest {
  readonly id: LeaseId;
}
export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
}
export interface LeaseCheckpoint {
  readonly id: LeaseId;
  readonly remainingTtlSeconds: number;
}
/** LeaseCheckpointRequest persists remaining TTLs so a new leader resumes them (etcd's checkpoint). */
export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[];
}
export interface LeaseCheckpointResponse {
  readonly header: ResponseHeader;
}
export interface LeaseTimeToLiveRequest {
  readonly id: LeaseId;
  readonly keys?: boolean;
}
/** LeaseTimeToLiveResponse: ttlSeconds is -1 when the lease does not exist (etcd). */
export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: readonly Uint8Array[];
}
export interface LeaseLeasesResponse {
  readonly header: ResponseHeader;
  readonly leases: readonly { readonly id: LeaseId }[];
}

export const AlarmType = { NOSPACE: 'NOSPACE' } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];
/** AlarmDisarmRequest clears the NOSPACE alarm (etcd's AlarmRequest DEACTIVATE). */
export interface AlarmDisarmRequest {
  readonly alarm: AlarmType;
}
/** AlarmResponse lists the alarms that were cleared (disarm) or are armed (list). */
export interface AlarmResponse {
  readonly header: ResponseHeader;
  readonly alarms: readonly AlarmType[];
}

/** KvCommand is what a committed Raft entry carries (encoded by codec.ts). */
export type KvCommand =
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly request: CompactionRequest }
  | { readonly type: 'leaseGrant'; readonly request: LeaseGrantRequest }
  | { readonly type: 'leaseRevoke'; readonly request: LeaseRevokeRequest }
  | { readonly type: 'leaseCheckpoint'; readonly request: LeaseCheckpointRequest }
  | { readonly type: 'alarmDisarm'; readonly request: AlarmDisarmRequest };

export type KvCommandType = KvCommand['type'];

export interface KvResponseMap {
  put: PutResponse;
  deleteRange: DeleteRangeResponse;
  txn: TxnResponse;
  compact: CompactionResponse;
  leaseGrant: LeaseGrantResponse;
  leaseRevoke: LeaseRevokeResponse;
  leaseCheckpoint: LeaseCheckpointResponse;
  alarmDisarm: AlarmResponse;
}

/** ApplyContext: the Raft index of the entry, and on the leader the current tick (lease expiry). */
export interface ApplyContext {
  readonly index: number;
  readonly nowTick?: number;
}

export const EventType = { PUT: 'PUT', DELETE: 'DELETE' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** WatchEvent: a DELETE event's kv has only key and modRevision set (etcd). */
export interface WatchEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export interface WatchCreateRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** startRevision: <= 0 = from the next revision. */
  readonly startRevision?: number;
  readonly prevKv?: boolean;
  readonly filters?: { readonly noPut?: boolean; readonly noDelete?: boolean };
  readonly progressNotify?: boolean;
  readonly fragment?: boolean;
}

/** WatchResponse mirrors etcd's; header.revision is 0 in a compaction cancel, as in etcd. */
export interface WatchResponse {
  readonly watchId: WatchId;
  readonly header: ResponseHeader;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compactRevision: number;
  readonly cancelReason: string;
  readonly fragment: boolean;
  readonly events: readonly WatchEvent[];
}

/**
 * WatchSink receives a watcher's responses synchronously. Returning `false` from an event or
 * progress response means "not accepted, my buffer is full": the hub keeps that one response,
 * stops sending, and re-sends it followed by a catch-up from history on WatchHub.resume(id).
 */
export type WatchSink = (resp: WatchResponse) => boolean | void;

// ---- byte helpers ----

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** compareBytes orders byte strings in unsigned byte order (Go's bytes.Compare). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * bytesToLatin1 maps each byte to one UTF-16 code unit, so that JS string order equals unsigned
 * byte order; the key index keys its maps and sorted arrays with these strings.
 */
export function bytesToLatin1(b: Uint8Array): string {
  if (b.length <= 32) {
    let s = '';
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  let s = '';
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

export function latin1ToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** prefixEnd is the rangeEnd that selects every key starting with prefix (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  // All 0xff (or empty): no upper bound, which etcd spells as one zero byte.
  return new Uint8Array([0]);
}

/** FROM_KEY_END is the rangeEnd meaning "every key >= key". */
export const FROM_KEY_END: Uint8Array = new Uint8Array([0]);

/** isFromKey tells whether rangeEnd is the single zero byte. */
export function isFromKey(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
}
