// tabd's KV layer: the state machine that committed Raft entries are applied to.
//
// What it does: an MVCC key-value store with etcd v3 (3.4) semantics — a global revision,
// per-key createRevision/modRevision/version, ranges at the current or a past revision (limit,
// sort, keysOnly, countOnly, min/max revision filters), puts, range deletes, txns (compares on
// value/version/create/mod/lease, nested txns), compaction, leases with attached keys, watches
// (catch-up from a revision, prefix/range, prevKv, filters, progress, fragments), a space quota
// with etcd's NOSPACE alarm, snapshots, and the binary codec for Raft entry data.
//
// Contract:
//  - Pure, synchronous and deterministic: no clock, randomness, timers, promises or I/O. Time
//    arrives as ticks (ApplyContext.nowTick, Lessor.promote/renew/expired) and matters only for
//    leader-local lease expiry, never for how an entry applies.
//  - KvStore.apply(cmd, {index}) applies committed commands in log order. It never throws for a
//    bad request: the error is returned as a typed KvResult, so every replica that applies the
//    same entries reaches the same state and returns the same results. It throws only on a bug
//    (a broken invariant, an index out of order, a re-entrant apply from a watch sink, or a
//    watch sink that threw, rethrown after the state is consistent and other sinks were served).
//  - Reads (range, leaseTimeToLive, leaseLeases, alarmList) are served from this replica's state;
//    the node decides whether that is linearizable (ReadIndex first) or serializable.
//  - Limits: maxRequestBytes (encodeProposal, before proposing), maxTxnOps, quotaBytes (NOSPACE
//    alarm, raised deterministically while applying), minLeaseTtlSeconds, watch batch size.
//
// Invariants (KvStore.checkInvariants checks them):
//  - revision starts at 1 and grows by exactly one per command that changed at least one key
//    (a delete of nothing, a read-only txn, a revoke of a lease without keys do not bump it).
//  - every key's retained versions are ordered by modRevision; a read at revision r >=
//    compactRevision sees exactly the versions etcd would; below it fails `compacted`.
//  - a lease holds exactly the live keys whose newest version names it.
//  - usedBytes is the quota formula of quota.ts over what is retained.
//  - restore(snapshot()) is indistinguishable from the original through every read.
//
// Known deviations from etcd 3.4 are listed in src/kv/CODEC.md ("Deviations from etcd").
export { KvStore } from './kv-store.js';
export type { SnapshotEncoder } from './snapshot.js';
export type { KvResult, KvReadResult, KvStatus } from './kv-store.js';
export { resolveKvConfig, DEFAULT_KV_CONFIG, MAX_LEASE_TTL_SECONDS } from './config.js';
export type { KvConfig } from './config.js';
export { Lessor, leaseIdForIndex } from './lessor.js';
export type { RenewResult } from './lessor.js';
export { WatchHub, WATCH_RANGE_EMPTY, fragmentResponse } from './watch-hub.js';
export {
  encodeCommand,
  decodeCommand,
  normalizeCommand,
  checkRequestSize,
  encodeProposal,
  CODEC_VERSION,
  MAX_TXN_DEPTH,
} from './codec.js';
export { KV_OVERHEAD_BYTES, LEASE_OVERHEAD_BYTES, costPut, costTxn } from './quota.js';
export {
  KvError,
  GrpcCode,
  CompactedError,
  FutureRevisionError,
  RequestTooLargeError,
  TooManyOpsError,
  DuplicateKeyError,
  LeaseNotFoundError,
  LeaseExistsError,
  LeaseTtlTooLargeError,
  LeaseNotPrimaryError,
  LeaseExpiredError,
  QuotaExceededError,
  KeyNotFoundError,
  EmptyKeyError,
  ValueProvidedError,
  LeaseProvidedError,
  MalformedRequestError,
  SnapshotCorruptError,
  InvalidConfigError,
} from './errors.js';
export {
  NO_LEASE,
  FROM_KEY_END,
  EMPTY_BYTES,
  SortOrder,
  SortTarget,
  CompareTarget,
  CompareResult,
  EventType,
  AlarmType,
  revision,
  leaseId,
  isLeaseId,
  compareLeaseIds,
  compareBytes,
  bytesEqual,
  prefixEnd,
  isFromKey,
  bytesToLatin1,
  latin1ToBytes,
} from './types.js';
export type {
  Revision,
  LeaseId,
  WatchId,
  KeyValue,
  ResponseHeader,
  RangeRequest,
  RangeResponse,
  PutRequest,
  PutResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Compare,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  CompactionRequest,
  CompactionResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseCheckpoint,
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  LeaseLeasesResponse,
  AlarmDisarmRequest,
  AlarmResponse,
  KvCommand,
  KvCommandType,
  KvResponseMap,
  ApplyContext,
  WatchEvent,
  WatchCreateRequest,
  WatchResponse,
  WatchSink,
} from './types.js';
