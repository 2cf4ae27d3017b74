// Expected failures of the storage layer, as typed errors with a literal `code` (STYLE.md §3).
// DOMExceptions from IndexedDB never leave this layer bare: they are wrapped here, with the
// original as `cause`. Caller bugs (persisting a gap, snapshotting past the log) are not errors
// of this kind: they are AssertionErrors from src/raft/assert.ts and are never caught.

export const StorageErrorCode = {
  /** The browser refused the write for lack of space; the transaction aborted, nothing changed. */
  QuotaExceeded: 'quota-exceeded',
  /** A stored record failed its checksum or the records do not fit together; see `location`. */
  Corrupt: 'storage-corrupt',
  /** The storage was closed (by close(), another tab's upgrade or delete, or the browser). */
  Closed: 'storage-closed',
  /** The records were written by a newer tabd format that this code cannot read. */
  UnsupportedFormat: 'storage-unsupported-format',
  /** Any other failure of the underlying store. */
  Failed: 'storage-failed',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** StorageError is the base of every expected failure of a DurableStorage. */
export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
}

/**
 * StorageQuotaExceededError: the write did not fit in the origin's quota. The failed transaction
 * aborted as a whole, so every previously acknowledged write is intact and this batch is not
 * acknowledged; the node raises its NOSPACE alarm.
 */
export class StorageQuotaExceededError extends StorageError {
  override readonly name = 'StorageQuotaExceededError';
  readonly code = StorageErrorCode.QuotaExceeded;
}

/**
 * StorageCorruptionError: what load() found cannot be trusted. `location` names the record, as
 * `store[key]` (e.g. `segments[1201]`). The peer must refuse to start; the node may offer to wipe
 * the database (IdbStorage.destroy) and rejoin as a new member.
 */
export class StorageCorruptionError extends StorageError {
  override readonly name = 'StorageCorruptionError';
  readonly code = StorageErrorCode.Corrupt;
  constructor(
    readonly location: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${location}: ${reason}`, options);
  }
}

export const StorageClosedReason = {
  /** close() was called. */
  Closed: 'closed',
  /** Another connection wants to upgrade or delete the database (a `versionchange` event). */
  VersionChange: 'versionchange',
  /** The browser closed the connection abnormally (storage cleared, backing store failure). */
  Terminated: 'terminated',
  /** Only in tests: a simulated process crash (MemoryDurableStorage). */
  Crashed: 'crashed',
} as const;
export type StorageClosedReason = (typeof StorageClosedReason)[keyof typeof StorageClosedReason];

/** StorageClosedError: the storage is closed; `reason` says why. Reopen to continue. */
export class StorageClosedError extends StorageError {
  override readonly name = 'StorageClosedError';
  readonly code = StorageErrorCode.Closed;
  constructor(
    readonly reason: StorageClosedReason,
    options?: ErrorOptions,
  ) {
    super(`storage is closed (${reason})`, options);
  }
}

/**
 * StorageUnsupportedFormatError: the database or a record was written by a newer version of tabd.
 * Unlike corruption this is not a reason to wipe: a newer tab of the same origin may be using it.
 */
export class StorageUnsupportedFormatError extends StorageError {
  override readonly name = 'StorageUnsupportedFormatError';
  readonly code = StorageErrorCode.UnsupportedFormat;
}

/** StorageFailedError: any other failure of the underlying store (`cause` holds the original). */
export class StorageFailedError extends StorageError {
  override readonly name = 'StorageFailedError';
  readonly code = StorageErrorCode.Failed;
}

/**
 * toStorageError maps anything thrown by IndexedDB (or idb) to a StorageError. `closedReason` is
 * set when this connection was already closed, which turns the InvalidStateError of a
 * transaction on a closing connection into StorageClosedError.
 */
export function toStorageError(
  e: unknown,
  context: string,
  closedReason?: StorageClosedReason,
): StorageError {
  if (e instanceof StorageError) return e;
  const { name, message } = describeThrown(e);
  if (name === 'QuotaExceededError') {
    return new StorageQuotaExceededError(`${context}: quota exceeded: ${message}`, { cause: e });
  }
  if (closedReason !== undefined) return new StorageClosedError(closedReason, { cause: e });
  if (name === 'VersionError') {
    const msg = `${context}: database version is newer than this code: ${message}`;
    return new StorageUnsupportedFormatError(msg, { cause: e });
  }
  return new StorageFailedError(`${context}: ${name || 'error'}: ${message}`, { cause: e });
}

/** describeThrown reads name and message from an Error or DOMException (or anything shaped so). */
function describeThrown(e: unknown): { name: string; message: string } {
  if (typeof e === 'object' && e !== null) {
    const { name, message } = e as { name?: unknown; message?: unknown };
    if (typeof name === 'string')
      return { name, message: typeof message === 'string' ? message : '' };
  }
  return { name: '', message: String(e) };
}
