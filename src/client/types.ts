// The KvClient interface: etcd's v3 API, promise-based and typed, shared by the two backends
// (LocalClient: this tab's node; EtcdClient: a real etcd over its JSON gateway).
import type {
  Compare,
  CompactionResponse as KvCompactionResponse,
  DeleteRangeResponse as KvDeleteRangeResponse,
  KeyValue,
  LeaseId,
  LeaseGrantResponse as KvLeaseGrantResponse,
  LeaseLeasesResponse as KvLeaseLeasesResponse,
  LeaseTimeToLiveResponse as KvLeaseTimeToLiveResponse,
  PutResponse as KvPutResponse,
  RangeRequest,
  RangeResponse as KvRangeResponse,
  Revision,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse as KvTxnResponse,
  WatchEvent,
} from '../kv/index.js';
import type { Bytes, KeyRangeOptions } from './bytes.js';
import type { TxnBuilder } from './txn-builder.js';
import type { KeepAlive, KeepAliveOptions } from './keep-alive.js';
import type { Watch } from './watch.js';

/**
 * ResponseHeader is etcd's header of a top-level answer. revision is the store revision after
 * the call; memberId and raftTerm are the answering member's; clusterId is etcd's cluster id
 * ('' for tabd, whose clusters have no numeric id).
 */
export interface ResponseHeader {
  readonly revision: Revision;
  readonly memberId: string;
  readonly raftTerm: number;
  readonly clusterId: string;
}

/** WithHeader replaces a KV response's header (revision only) with the full client header. */
export type WithHeader<T extends { readonly header: unknown }> = Omit<T, 'header'> & {
  readonly header: ResponseHeader;
};

export type RangeResponse = WithHeader<KvRangeResponse>;
export type PutResponse = WithHeader<KvPutResponse>;
export type DeleteRangeResponse = WithHeader<KvDeleteRangeResponse>;
/** TxnResponse: nested responses keep the KV header (revision only; 0 for a nested txn, as etcd). */
export type TxnResponse = WithHeader<KvTxnResponse>;
export type CompactionResponse = WithHeader<KvCompactionResponse>;
export type LeaseGrantResponse = WithHeader<KvLeaseGrantResponse>;
export type LeaseRevokeResponse = { readonly header: ResponseHeader };
export type LeaseTimeToLiveResponse = WithHeader<KvLeaseTimeToLiveResponse>;
export type LeaseLeasesResponse = WithHeader<KvLeaseLeasesResponse>;

/** LeaseKeepAliveResponse: the lease's TTL after a renewal (etcd's LeaseKeepAliveResponse). */
export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  readonly ttlSeconds: number;
}

/** LeaseIdInput: a lease id as LeaseId, decimal string, bigint or safe integer. */
export type LeaseIdInput = LeaseId | string | bigint | number;

export interface PutOptions {
  /** lease: attach the key to this lease (deleted when the lease expires or is revoked). */
  readonly lease?: LeaseIdInput;
  /** prevKv: return the key's previous version. */
  readonly prevKv?: boolean;
  /** ignoreValue: keep the current value (the key must exist; pass no value, or ''). */
  readonly ignoreValue?: boolean;
  /** ignoreLease: keep the current lease (the key must exist; pass no lease). */
  readonly ignoreLease?: boolean;
}

export interface GetOptions extends KeyRangeOptions {
  /** limit: at most this many keys (0 = no limit); `more` tells whether there were more. */
  readonly limit?: number;
  /** revision: read the store as of this past revision (0 = current). */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** serializable: answer from this member without a quorum round (may be stale). */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface DeleteOptions extends KeyRangeOptions {
  /** prevKv: return the deleted key-values. */
  readonly prevKv?: boolean;
}

export interface WatchOptions extends KeyRangeOptions {
  /** startRevision: replay history from this revision (0 = only changes after the watch is created). */
  readonly startRevision?: number;
  /** prevKv: events carry the key's previous version. */
  readonly prevKv?: boolean;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  /** progressNotify: the server sends periodic progress notifications when idle. */
  readonly progressNotify?: boolean;
  /**
   * maxBufferedResponses: how far an async iterator may fall behind before the watch is canceled
   * with WatchOverflowError (never silently dropped: resume from lastRevision + 1). Default 10,000.
   */
  readonly maxBufferedResponses?: number;
}

/** Member is one cluster member (etcd's Member; for tabd, peer URLs are empty and name is the id). */
export interface Member {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MemberListResponse {
  readonly header: ResponseHeader;
  readonly members: readonly Member[];
}

export interface AlarmMember {
  readonly memberId: string;
  readonly alarm: 'NOSPACE' | 'CORRUPT';
}

export interface AlarmResponse {
  readonly header: ResponseHeader;
  readonly alarms: readonly AlarmMember[];
}

/** StatusResponse is etcd's maintenance status of the answering member, plus its alarms. */
export interface StatusResponse {
  readonly header: ResponseHeader;
  readonly version: string;
  readonly memberId: string;
  /** leader: the leader's member id, '' when there is none. */
  readonly leader: string;
  readonly raftTerm: number;
  /** raftIndex: the committed index; raftAppliedIndex: the applied one. */
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
  readonly revision: Revision;
  /** dbSize: bytes the store occupies (tabd: the quota estimate); dbSizeInUse likewise. */
  readonly dbSize: number;
  readonly dbSizeInUse: number;
  readonly isLearner: boolean;
  readonly alarms: readonly AlarmMember[];
  readonly errors: readonly string[];
}

/**
 * KvClient is etcd's v3 client API. Every method returns a promise that rejects only with
 * tabd's typed errors (TabdError: KvError, NodeError or ClientError; see errors.ts).
 */
export interface KvClient {
  /** put writes key = value (a new version; a new key if it did not exist). */
  put(key: Bytes, value: Bytes, opts?: PutOptions): Promise<PutResponse>;
  /** get reads one key, or a range with prefix/fromKey/rangeEnd, with etcd's range options. */
  get(key: Bytes, opts?: GetOptions): Promise<RangeResponse>;
  /** range is get with a raw etcd RangeRequest. */
  range(req: RangeRequest): Promise<RangeResponse>;
  /** delete deletes one key or a range. */
  delete(key: Bytes, opts?: DeleteOptions): Promise<DeleteRangeResponse>;
  /** txn runs a raw etcd TxnRequest (see also `if`). */
  txn(req: TxnRequest): Promise<TxnResponse>;
  /** if starts a txn: client.if(compare...).then(op...).else(op...).commit(). */
  if(...compares: Compare[]): TxnBuilder;
  /** compact drops history below revision; reads and watches below it then fail `compacted`. */
  compact(revision: number, physical?: boolean): Promise<CompactionResponse>;
  /** watch follows changes to a key or range; see Watch. */
  watch(key: Bytes, opts?: WatchOptions): Watch;

  /** grant creates a lease of ttlSeconds; id chooses its id (the server picks one otherwise). */
  grant(ttlSeconds: number, id?: LeaseIdInput): Promise<LeaseGrantResponse>;
  /** revoke deletes a lease and every key attached to it. */
  revoke(id: LeaseIdInput): Promise<LeaseRevokeResponse>;
  /** keepAliveOnce renews a lease once (rejects lease-not-found if it is gone). */
  keepAliveOnce(id: LeaseIdInput): Promise<LeaseKeepAliveResponse>;
  /** keepAlive renews a lease every TTL/3 until closed, and reports when the lease is lost. */
  keepAlive(id: LeaseIdInput, opts?: KeepAliveOptions): KeepAlive;
  /** timeToLive tells a lease's remaining and granted TTL (ttlSeconds -1: no such lease). */
  timeToLive(
    id: LeaseIdInput,
    opts?: { readonly keys?: boolean },
  ): Promise<LeaseTimeToLiveResponse>;
  /** leases lists every lease id. */
  leases(): Promise<LeaseLeasesResponse>;

  /** status describes the answering member. */
  status(): Promise<StatusResponse>;
  memberList(): Promise<MemberListResponse>;
  alarmList(): Promise<AlarmResponse>;
  /** alarmDisarm clears the NOSPACE alarm; answers the alarms that were cleared. */
  alarmDisarm(): Promise<AlarmResponse>;

  /** close cancels this client's watches and keepAlives; later calls reject with client-closed. */
  close(): Promise<void>;
}

export type { Bytes, KeyRangeOptions, KeyValue, WatchEvent };
