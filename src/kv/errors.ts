// Expected outcomes of KV requests, as typed errors (STYLE.md §3, tier 2). Each class carries a
// literal `code`, etcd's message in `etcdMessage` (what etcd 3.4's gateway answers, so the
// differential tests can map errors both ways) and etcd's gRPC status code in `grpcCode`.
// The store returns these inside results; it throws only MalformedRequestError (from decoders
// and constructors of ids) and InvalidConfigError.

export const GrpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** KvError is the base of every error the KV layer returns or throws. */
export abstract class KvError extends Error {
  abstract readonly code: string;
  /** etcdMessage is the text etcd 3.4 answers for the same condition. */
  abstract readonly etcdMessage: string;
  abstract readonly grpcCode: GrpcCode;
}

/** CompactedError: the revision asked for is below the compact revision. */
export class CompactedError extends KvError {
  readonly code = 'compacted';
  readonly etcdMessage = 'etcdserver: mvcc: required revision has been compacted';
  readonly grpcCode = GrpcCode.OUT_OF_RANGE;
  constructor(readonly compactRevision: number) {
    super(`required revision has been compacted (compact revision ${compactRevision})`);
    this.name = 'CompactedError';
  }
}

/** FutureRevisionError: the revision asked for is above the current revision. */
export class FutureRevisionError extends KvError {
  readonly code = 'future-revision';
  readonly etcdMessage = 'etcdserver: mvcc: required revision is a future revision';
  readonly grpcCode = GrpcCode.OUT_OF_RANGE;
  constructor(readonly currentRevision: number) {
    super(`required revision is a future revision (current revision ${currentRevision})`);
    this.name = 'FutureRevisionError';
  }
}

/** RequestTooLargeError: the encoded request exceeds maxRequestBytes (etcd: request is too large). */
export class RequestTooLargeError extends KvError {
  readonly code = 'value-too-large';
  readonly etcdMessage = 'etcdserver: request is too large';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor(
    readonly sizeBytes: number,
    readonly maxRequestBytes: number,
  ) {
    super(`request is too large: ${sizeBytes} bytes > maxRequestBytes ${maxRequestBytes}`);
    this.name = 'RequestTooLargeError';
  }
}

/** TooManyOpsError: a txn (or a nested one, within its parent's budget) has more than maxTxnOps ops. */
export class TooManyOpsError extends KvError {
  readonly code = 'too-many-ops';
  readonly etcdMessage = 'etcdserver: too many operations in txn request';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor(readonly maxTxnOps: number) {
    super(`too many operations in txn request (maxTxnOps ${maxTxnOps})`);
    this.name = 'TooManyOpsError';
  }
}

/** DuplicateKeyError: one txn branch writes a key twice (put/put or put inside a deleted range). */
export class DuplicateKeyError extends KvError {
  readonly code = 'duplicate-key';
  readonly etcdMessage = 'etcdserver: duplicate key given in txn request';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor() {
    super('duplicate key given in txn request');
    this.name = 'DuplicateKeyError';
  }
}

export class LeaseNotFoundError extends KvError {
  readonly code = 'lease-not-found';
  readonly etcdMessage = 'etcdserver: requested lease not found';
  readonly grpcCode = GrpcCode.NOT_FOUND;
  constructor(readonly leaseId: string) {
    super(`requested lease not found: ${leaseId}`);
    this.name = 'LeaseNotFoundError';
  }
}

export class LeaseExistsError extends KvError {
  readonly code = 'lease-exists';
  readonly etcdMessage = 'etcdserver: lease already exists';
  readonly grpcCode = GrpcCode.FAILED_PRECONDITION;
  constructor(readonly leaseId: string) {
    super(`lease already exists: ${leaseId}`);
    this.name = 'LeaseExistsError';
  }
}

/** LeaseTtlTooLargeError: ttl > 9,000,000,000 s (etcd's MaxLeaseTTL). */
export class LeaseTtlTooLargeError extends KvError {
  readonly code = 'lease-ttl-too-large';
  readonly etcdMessage = 'etcdserver: too large lease TTL';
  readonly grpcCode = GrpcCode.OUT_OF_RANGE;
  constructor(readonly ttlSeconds: number) {
    super(`too large lease TTL: ${ttlSeconds} s`);
    this.name = 'LeaseTtlTooLargeError';
  }
}

/**
 * LeaseNotPrimaryError: keepAlive reached a replica whose lessor is not the leader's
 * (etcd's lease.ErrNotPrimary; the client retries on the leader).
 */
export class LeaseNotPrimaryError extends KvError {
  readonly code = 'lease-not-primary';
  readonly etcdMessage = 'etcdserver: not primary';
  readonly grpcCode = GrpcCode.FAILED_PRECONDITION;
  constructor() {
    super('lessor is not primary (not the leader)');
    this.name = 'LeaseNotPrimaryError';
  }
}

/**
 * LeaseExpiredError: keepAlive of a lease that has expired but whose revoke has not applied yet.
 * etcd blocks the keepAlive until the revoke applies and then answers lease-not-found; the node
 * should do the same (wait for the revoke, then answer LeaseNotFoundError).
 */
export class LeaseExpiredError extends KvError {
  readonly code = 'lease-expired';
  readonly etcdMessage = 'etcdserver: requested lease not found';
  readonly grpcCode = GrpcCode.NOT_FOUND;
  constructor(readonly leaseId: string) {
    super(`lease expired, revoke pending: ${leaseId}`);
    this.name = 'LeaseExpiredError';
  }
}

/** QuotaExceededError: the NOSPACE alarm is armed, or this write would take the store past quotaBytes. */
export class QuotaExceededError extends KvError {
  readonly code = 'quota-exceeded';
  readonly etcdMessage = 'etcdserver: mvcc: database space exceeded';
  readonly grpcCode = GrpcCode.RESOURCE_EXHAUSTED;
  constructor(
    readonly usedBytes: number,
    readonly quotaBytes: number,
  ) {
    super(
      `database space exceeded (used ${usedBytes} of quota ${quotaBytes} bytes; NOSPACE alarm)`,
    );
    this.name = 'QuotaExceededError';
  }
}

/** KeyNotFoundError: ignoreValue/ignoreLease on a missing key, or an empty txn op (etcd). */
export class KeyNotFoundError extends KvError {
  readonly code = 'key-not-found';
  readonly etcdMessage = 'etcdserver: key not found';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor(detail = 'key not found') {
    super(detail);
    this.name = 'KeyNotFoundError';
  }
}

export class EmptyKeyError extends KvError {
  readonly code = 'empty-key';
  readonly etcdMessage = 'etcdserver: key is not provided';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor() {
    super('key is not provided');
    this.name = 'EmptyKeyError';
  }
}

/** ValueProvidedError: a put with ignoreValue also carries a value. */
export class ValueProvidedError extends KvError {
  readonly code = 'value-provided';
  readonly etcdMessage = 'etcdserver: value is provided';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor() {
    super('value is provided with ignoreValue');
    this.name = 'ValueProvidedError';
  }
}

/** LeaseProvidedError: a put with ignoreLease also carries a lease. */
export class LeaseProvidedError extends KvError {
  readonly code = 'lease-provided';
  readonly etcdMessage = 'etcdserver: lease is provided';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor() {
    super('lease is provided with ignoreLease');
    this.name = 'LeaseProvidedError';
  }
}

/** MalformedRequestError: bytes or values that no valid request can have (decoder, id parsers). */
export class MalformedRequestError extends KvError {
  readonly code = 'malformed-request';
  readonly etcdMessage = 'etcdserver: malformed request';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor(detail: string) {
    super(`malformed request: ${detail}`);
    this.name = 'MalformedRequestError';
  }
}

/** SnapshotCorruptError: KvStore.restore was given bytes that are not a valid snapshot. */
export class SnapshotCorruptError extends KvError {
  readonly code = 'snapshot-corrupt';
  readonly etcdMessage = 'etcdserver: snapshot is corrupt';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor(detail: string) {
    super(`KV snapshot is corrupt: ${detail}`);
    this.name = 'SnapshotCorruptError';
  }
}

/** InvalidConfigError: a KvConfig field is out of its documented range. */
export class InvalidConfigError extends KvError {
  readonly code = 'invalid-config';
  readonly etcdMessage = 'etcdserver: invalid config';
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
  constructor(detail: string) {
    super(`invalid KV config: ${detail}`);
    this.name = 'InvalidConfigError';
  }
}

/** assert stops on a broken invariant (a bug), never on bad user input (STYLE.md §3, tier 1). */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`tabd kv invariant broken: ${msg}`);
}
