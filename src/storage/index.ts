// Package storage keeps a peer's Raft state durable: the hard state (term, vote, commit), the log,
// and the latest snapshot (the KV state and ConfState at its index). IdbStorage does it in
// IndexedDB, one database per peer identity (`tabd/<cluster>/<peer>`, IdbStorage.databaseName);
// MemoryDurableStorage does the same synchronously in memory for unit tests and the simulator,
// with crash and failure injection.
//
// Contract (DurableStorage in durable-storage.ts; tests in test/storage/durable-storage-contract.ts
// run it against both implementations):
// - persist(batch) writes one Ready atomically: all of it or none of it, also across a crash. A
//   leader's snapshot replaces the whole log; entries overwrite any stored entry at or after
//   their first index; the hard state replaces the stored one. Only after persist resolves may
//   the node acknowledge (send what depends on it, apply, advance).
// - saveSnapshot(snap, compactIndex) stores the application's snapshot and drops the segments
//   that end at or before compactIndex; a snapshot no newer than the stored one is ignored.
// - load() returns the hard state, the snapshot and the entries after it, contiguous, or throws
//   StorageCorruptionError naming the damaged record (`segments[1201]: checksum mismatch`). A
//   peer that gets it must not start; the node may offer IdbStorage.destroy and rejoining as a
//   new member.
// - Failures are StorageErrors with a literal code: quota-exceeded (the transaction aborted as a
//   whole, nothing acknowledged is lost: the node raises NOSPACE), storage-corrupt,
//   storage-closed (close(), or another tab upgrading/deleting the database: versionchange),
//   storage-unsupported-format (written by a newer tabd: not a reason to wipe), storage-failed.
//   Caller bugs are AssertionErrors.
//
// Layout (IdbStorage; record formats in record-codec.ts):
//   meta      'format' → format record; 'hardState' → hard state record
//   segments  keyPath firstIndex → { firstIndex, lastIndex, bytes: segment record }
//   snapshot  'latest' → { index, term, bytes: snapshot record }
// Every record is one Uint8Array: header (magic, kind, format version), body, CRC-32 of the rest.
// A segment packs one persist batch's entries: one put per Ready, never one per entry (here a
// 100-put transaction costs 12-16 ms, one put under 1 ms). When Readys are small (one entry each
// under serial writes), a run of 32 small segments is rewritten as one record by the persist
// that completes it (MergePolicy), because reading at start costs per record: 3000 one-entry
// Readys loaded in 56-136 ms merged against 328-986 ms unmerged (in-memory IndexedDB), 142-247
// against 956-1568 ms for 5000 on disk.
//
// Invariants, checked by assembleLoadedState at load (and, as far as the in-memory shape allows,
// asserted before each write: no gap, commit within the log, no committed entry overwritten,
// hard state term ≥ the batch's terms, terms ordered within a batch): segments are contiguous; the first starts at or
// before snapshot index + 1 and the last ends at or after it; terms never decrease; an entry at
// the snapshot index has the snapshot's term; snapshot index ≤ commit ≤ last index; hard state
// term ≥ last entry term. IdbStorage keeps the segments' index ranges in memory, updated only
// after a transaction commits, so an append is a put with no read; truncation and merging read
// the segments they rewrite inside the same transaction.
//
// Measured choices (2026-11-25, Chromium 156, this 2-core machine under heavy load from other
// jobs: load average 12-20, so tails are noise; see test/browser/storage-measure.test.ts and
// test/storage/idb-disk-probe.ts):
// - Durability 'strict' (the default). With strace, a 'strict' transaction makes exactly one
//   fsync-family call on an on-disk profile; 'relaxed' and Chromium's 'default' make none. On
//   disk, persist p50: 1 × 256 B 4.3 ms strict vs 2.6 ms relaxed; 64 × 256 B 5.9 vs 3.3 ms
//   (an earlier run: 3.6 vs 2.2 and 3.8 vs 2.7). Relaxed survives a tab, renderer or browser
//   crash but not an OS crash or power cut; a peer that comes back having lost a vote or an
//   acknowledged entry breaks Raft's safety, and a laptop's power cut is a minority crash the
//   contract covers. Vitest's Playwright context is off the record: IndexedDB lives in memory
//   there and never syncs (strict and relaxed both 1.9-2.5 ms p50 for 1 or 64 entries).
// - Binary records rather than structured-clone objects of many small Uint8Arrays: the same put
//   cost (64 × 256 B: 2.4 ms p50 both) and about a fifth less to read back and check (150
//   batches: 1152 vs 1482 ms; 300 batches: 1973 vs 2520 ms); and the checksum covers exactly the stored bytes.
// - Loading 100k entries of 256 B in 1000 segments took 5-13 s here, on disk or in memory, most
//   of it in IndexedDB's getAll under CPU contention. Chromium stores values over 64 KiB as blob
//   files, and those read 5-7× faster per byte than inline values (100 × 256 KB: 1.4-2.2 s vs
//   1000 × 25.6 KB: 10-12 s), which is the lever if large logs matter; the node compacts every
//   10,000 entries, so a start reads a few thousand entries, not 100k.
export type { DurableStorage, LoadedState, PersistBatch } from './durable-storage.js';
export { crc32 } from './crc32.js';
export {
  StorageClosedError,
  StorageClosedReason,
  StorageCorruptionError,
  StorageError,
  StorageErrorCode,
  StorageFailedError,
  StorageQuotaExceededError,
  StorageUnsupportedFormatError,
} from './errors.js';
export {
  IDB_SCHEMA_VERSION,
  IdbStorage,
  type IdbFaultInjection,
  type IdbStorageOptions,
  type IdbStoreName,
  type IdbWriteOp,
  type MetaKey,
  type SegmentRecord,
  type SnapshotRecord,
  type TabdDbSchema,
} from './idb-storage.js';
export {
  MemoryDurableStorage,
  SimulatedCrashError,
  type MemoryDurableStorageOptions,
} from './memory-durable-storage.js';
export { FORMAT_VERSION, decodeSegment, encodeSegment } from './record-codec.js';
export { defaultMergePolicy, type MergePolicy } from './segment-log.js';
