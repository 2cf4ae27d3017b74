// tabd's client API: etcd's v3 API, promise-based and typed, over two backends.
//
//   import { LocalClient, EtcdClient, compare, op, text } from './client/index.js';
//
//   const client = new LocalClient(kvServer);            // this tab's node
//   // or: new EtcdClient({ endpoint: 'http://127.0.0.1:2379' })   // a real etcd (JSON gateway)
//
//   await client.put('config/mode', 'dark');
//   const r = await client.get('config/', { prefix: true });
//   for (const kv of r.kvs) console.log(text(kv.key), text(kv.value), kv.modRevision);
//
//   // Compare-and-swap, as in clientv3: If(...).Then(...).Else(...).Commit().
//   await client.if(compare.modRevision('config/mode', '=', r.kvs[0]!.modRevision))
//     .then(op.put('config/mode', 'light')).else(op.get('config/mode')).commit();
//
//   // Watch from a revision, resumable without gaps.
//   const w = client.watch('config/', { prefix: true, startRevision: r.header.revision + 1 });
//   for await (const batch of w) for (const ev of batch.events) console.log(ev.type, text(ev.kv.key));
//   // after a failure: const again = w.resume();   // starts at w.lastRevision + 1
//
//   // Leases, and the concurrency recipes built on them.
//   const session = await Session.create(client, { ttlSeconds: 10 });
//   const mutex = new Mutex(session, 'locks/printer');
//   await mutex.lock();  // mutex.fencingRevision orders holders
//   await mutex.unlock();
//
// Contract:
//  - Every promise rejects only with tabd's typed errors (TabdError: KvError | NodeError |
//    ClientError), each with a literal `code` such as 'compacted', 'value-too-large',
//    'too-many-ops', 'lease-not-found', 'quota-exceeded', 'timeout', 'no-quorum', 'stopped'.
//    An error with `unknownOutcome` (timeout, unavailable) may or may not have taken effect.
//  - Responses are etcd's, field for field (see src/kv/types.ts): keys and values are Uint8Array
//    (`text()` decodes UTF-8), revisions are numbers, lease ids decimal strings. Both backends
//    answer the same operations with the same responses; the known differences are listed in
//    README.md, "Differences from etcd", and test/etcd checks the rest against a real etcd.
//  - Reads are linearizable unless `serializable: true`. Watches are ordered, atomic per
//    revision, never skip silently (they end with `compacted`), and resume from lastRevision + 1.
//  - The client layer is not pure: keepAlive handles and watch delivery use timers and promises.
export { LocalClient, type LocalClientOptions } from './local-client.js';
export { EtcdClient, type EtcdClientOptions } from './etcd-client.js';
export type {
  AlarmMember,
  AlarmResponse,
  CompactionResponse,
  DeleteOptions,
  DeleteRangeResponse,
  GetOptions,
  KvClient,
  LeaseGrantResponse,
  LeaseIdInput,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberListResponse,
  PutOptions,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnResponse,
  WatchOptions,
} from './types.js';
export { text, toBytes, type Bytes, type KeyRangeOptions } from './bytes.js';
export { compare, op, TxnBuilder, type CompareOp } from './txn-builder.js';
export type { Watch, WatchEnd, WatchListeners, WatchResponse } from './watch.js';
export type { KeepAlive, KeepAliveEvents, KeepAliveOptions } from './keep-alive.js';
export {
  AbortedError,
  ClientClosedError,
  ClientError,
  ElectionNoLeaderError,
  ElectionNotLeaderError,
  EtcdServerError,
  InternalError,
  InvalidArgumentError,
  LeaseLostError,
  MutexLockedError,
  SessionExpiredError,
  UnavailableError,
  UnsupportedError,
  WatchCanceledError,
  WatchOverflowError,
  isTabdError,
  toTabdError,
  type TabdError,
} from './errors.js';
export { Session, type SessionOptions } from './recipes/session.js';
export { Election, type LeaderInfo } from './recipes/election.js';
export { Mutex } from './recipes/mutex.js';
// The KV and node types and errors a client user meets, re-exported so one import suffices.
export {
  CompactedError,
  DuplicateKeyError,
  EmptyKeyError,
  FutureRevisionError,
  KeyNotFoundError,
  KvError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseProvidedError,
  LeaseTtlTooLargeError,
  QuotaExceededError,
  RequestTooLargeError,
  TooManyOpsError,
  ValueProvidedError,
  SortOrder,
  SortTarget,
  type Compare,
  type KeyValue,
  type LeaseId,
  type RangeRequest,
  type RequestOp,
  type ResponseOp,
  type Revision,
  type TxnRequest,
  type WatchEvent,
} from '../kv/index.js';
export {
  NodeError,
  NoQuorumError,
  NotLeaderError,
  ProposalRefusedError,
  StoppedError,
  TimeoutError,
} from '../node/errors.js';
