import type { Entry, HardState, LogIndex, Snapshot } from '../raft/index.js';

/**
 * PersistBatch is what one Ready asks to make durable, written atomically:
 * after a crash either all of it is there or none of it is.
 */
export interface PersistBatch {
  readonly hardState?: HardState | undefined;
  /** entries to append; an entry at an index already stored replaces it and everything after. */
  readonly entries: readonly Entry[];
  /**
   * snapshot received from the leader: replaces the whole log, stored entries after its index
   * included (Raft installs a snapshot only when the log lacks its entry, so any later entry
   * belongs to a diverged history, as MemoryStorage.applySnapshot also assumes). `entries` of
   * the same batch are applied after it.
   */
  readonly snapshot?: Snapshot | undefined;
}

/** LoadedState is a peer's durable state as read at start. */
export interface LoadedState {
  readonly hardState: HardState;
  /** snapshot is the latest snapshot (index 0 when none); it carries the ConfState at its index. */
  readonly snapshot: Snapshot;
  /** entries after the snapshot (from its index + 1), contiguous. */
  readonly entries: readonly Entry[];
}

/**
 * DurableStorage is a peer's stable storage as the node runtime uses it
 * (IndexedDB in a tab, memory in tests and the simulator). Methods may
 * complete synchronously (return void) or asynchronously (return a Promise);
 * the node handles both, so a synchronous implementation keeps a simulation
 * deterministic. Failures reject/throw StorageError subclasses (errors.ts); a
 * failed persist or saveSnapshot wrote nothing. Caller bugs (a gap in the log,
 * overwriting a committed entry, a commit index outside the log, a leader
 * snapshot not newer than the stored one) are AssertionErrors.
 */
export interface DurableStorage {
  load(): LoadedState | Promise<LoadedState>;
  /** persist writes one Ready's state in one atomic transaction. */
  persist(batch: PersistBatch): void | PromiseLike<void>;
  /**
   * saveSnapshot records a snapshot the application made at an applied index and discards log
   * entries up to `compactIndex` (≤ snapshot index). Entries up to the snapshot are committed: a
   * lower durable commit index is raised to it. A snapshot not newer than the stored one is
   * ignored (the leader's may have been installed meanwhile).
   */
  saveSnapshot(snapshot: Snapshot, compactIndex: LogIndex): void | PromiseLike<void>;
  close(): void | Promise<void>;
}
