// (guide comment: written below once the measurements are in)
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
export { MemoryDurableStorage, SimulatedCrashError } from './memory-durable-storage.js';
export { FORMAT_VERSION, decodeSegment, encodeSegment } from './record-codec.js';
