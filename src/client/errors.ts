// Errors of the client API. The client rejects only with tabd's typed errors (STYLE.md §3):
//  - KvError subclasses (src/kv/errors.ts): what the store answers, e.g. `compacted`,
//    `value-too-large`, `too-many-ops`, `lease-not-found`, `quota-exceeded`;
//  - NodeError subclasses (src/node/errors.ts): `timeout`, `no-quorum`, `not-leader`, `stopped`,
//    `proposal-dropped`;
//  - ClientError subclasses (this file): failures of the client itself or of its transport to
//    etcd, and the outcomes of the concurrency recipes.
// Anything else (a bug, a fetch TypeError, a JSON parse error) is wrapped with `cause` by
// toTabdError, so `err.code` is always there to switch on.
import { KvError } from '../kv/index.js';
import { NodeError } from '../node/errors.js';

/** ClientError is the base of the errors raised by the client layer itself. */
export abstract class ClientError extends Error {
  abstract readonly code: string;
  /** unknownOutcome: the request may or may not have taken effect. */
  readonly unknownOutcome: boolean = false;
}

/** TabdError is every error the client API rejects with. */
export type TabdError = KvError | NodeError | ClientError;

/** isTabdError tells whether err is one of tabd's typed errors. */
export function isTabdError(err: unknown): err is TabdError {
  return err instanceof KvError || err instanceof NodeError || err instanceof ClientError;
}

/** ClientClosedError: the client was closed; no request is sent after close(). */
export class ClientClosedError extends ClientError {
  readonly code = 'client-closed';
  constructor() {
    super('client is closed');
    this.name = 'ClientClosedError';
  }
}

/**
 * UnavailableError: the server could not be reached (connection refused, reset, DNS). The
 * request may have reached it before the connection broke, so its outcome is unknown.
 */
export class UnavailableError extends ClientError {
  readonly code = 'unavailable';
  override readonly unknownOutcome = true;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`server unavailable: ${detail}`, options);
    this.name = 'UnavailableError';
  }
}

/** EtcdServerError: etcd answered an error this client has no specific class for. */
export class EtcdServerError extends ClientError {
  readonly code = 'etcd-error';
  constructor(
    readonly grpcCode: number,
    readonly etcdMessage: string,
  ) {
    super(`etcd error (gRPC code ${grpcCode}): ${etcdMessage}`);
    this.name = 'EtcdServerError';
  }
}

/** InvalidArgumentError: the call's arguments contradict each other (e.g. both prefix and rangeEnd). */
export class InvalidArgumentError extends ClientError {
  readonly code = 'invalid-argument';
  constructor(detail: string) {
    super(`invalid argument: ${detail}`);
    this.name = 'InvalidArgumentError';
  }
}

/** UnsupportedError: the backend cannot do this (e.g. requestProgress over etcd's JSON gateway). */
export class UnsupportedError extends ClientError {
  readonly code = 'unsupported';
  constructor(what: string) {
    super(`not supported by this backend: ${what}`);
    this.name = 'UnsupportedError';
  }
}

/** InternalError wraps anything that is not a tabd error (a bug, a malformed answer). */
export class InternalError extends ClientError {
  readonly code = 'internal';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'InternalError';
  }
}

/** WatchCanceledError: the server canceled a watch for a reason other than compaction. */
export class WatchCanceledError extends ClientError {
  readonly code = 'watch-canceled';
  constructor(readonly reason: string) {
    super(`watch canceled by the server: ${reason}`);
    this.name = 'WatchCanceledError';
  }
}

/**
 * WatchOverflowError: a consumer fell behind by more than maxBufferedResponses, so the watch was
 * canceled rather than buffer without bound. Nothing was skipped: resume from lastRevision + 1.
 */
export class WatchOverflowError extends ClientError {
  readonly code = 'watch-overflow';
  constructor(readonly maxBufferedResponses: number) {
    super(
      `watch consumer is more than ${maxBufferedResponses} responses behind; resume from lastRevision + 1`,
    );
    this.name = 'WatchOverflowError';
  }
}

/** LeaseLostError: a keepAlive handle could not renew its lease in time, or the lease is gone. */
export class LeaseLostError extends ClientError {
  readonly code = 'lease-lost';
  constructor(
    readonly leaseId: string,
    options?: { cause?: unknown },
  ) {
    super(`lease ${leaseId} lost`, options);
    this.name = 'LeaseLostError';
  }
}

/** SessionExpiredError: a recipe's session lease expired or was revoked (etcd's ErrSessionExpired). */
export class SessionExpiredError extends ClientError {
  readonly code = 'session-expired';
  constructor(options?: { cause?: unknown }) {
    super('session expired', options);
    this.name = 'SessionExpiredError';
  }
}

/** ElectionNotLeaderError: proclaim or resign by a candidate that is not the leader (etcd's ErrElectionNotLeader). */
export class ElectionNotLeaderError extends ClientError {
  readonly code = 'election-not-leader';
  constructor() {
    super('election: not leader');
    this.name = 'ElectionNotLeaderError';
  }
}

/** ElectionNoLeaderError: leader() on an election nobody has won (etcd's ErrElectionNoLeader). */
export class ElectionNoLeaderError extends ClientError {
  readonly code = 'election-no-leader';
  constructor() {
    super('election: no leader');
    this.name = 'ElectionNoLeaderError';
  }
}

/** MutexLockedError: tryLock found the mutex held by another session (etcd's ErrLocked). */
export class MutexLockedError extends ClientError {
  readonly code = 'mutex-locked';
  constructor() {
    super('mutex: locked by another session');
    this.name = 'MutexLockedError';
  }
}

/** AbortedError: the caller's AbortSignal fired while a recipe was waiting. */
export class AbortedError extends ClientError {
  readonly code = 'aborted';
  constructor(options?: { cause?: unknown }) {
    super('operation aborted', options);
    this.name = 'AbortedError';
  }
}

/** toTabdError returns tabd errors as they are and wraps anything else in InternalError. */
export function toTabdError(err: unknown): TabdError {
  if (isTabdError(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new InternalError(`unexpected error: ${msg}`, { cause: err });
}
