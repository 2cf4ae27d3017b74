import { describe, expect, test } from 'vitest';
import {
  StorageClosedError,
  StorageCorruptionError,
  StorageFailedError,
  StorageQuotaExceededError,
  StorageUnsupportedFormatError,
  toStorageError,
} from '../../src/storage/errors.js';

describe('toStorageError', () => {
  test('QuotaExceededError becomes quota-exceeded, keeping the DOMException as cause', () => {
    const dom = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const e = toStorageError(dom, 'tabd/c/p: persist');
    expect(e).toBeInstanceOf(StorageQuotaExceededError);
    expect(e.code).toBe('quota-exceeded');
    expect(e.cause).toBe(dom);
    expect(e.message).toMatch(/^tabd\/c\/p: persist: quota exceeded/);
  });

  test('quota wins even on a closed connection; otherwise a closed connection means storage-closed', () => {
    const quota = new DOMException('q', 'QuotaExceededError');
    expect(toStorageError(quota, 'x', 'versionchange')).toBeInstanceOf(StorageQuotaExceededError);
    const inactive = new DOMException('The database connection is closing.', 'InvalidStateError');
    const closed = toStorageError(inactive, 'x', 'versionchange');
    expect(closed).toBeInstanceOf(StorageClosedError);
    expect((closed as StorageClosedError).reason).toBe('versionchange');
    expect(closed.code).toBe('storage-closed');
    expect(closed.cause).toBe(inactive);
  });

  test('VersionError is an unsupported format; anything else is storage-failed', () => {
    expect(toStorageError(new DOMException('v', 'VersionError'), 'x')).toBeInstanceOf(
      StorageUnsupportedFormatError,
    );
    const unknown = new DOMException('disk', 'UnknownError');
    const failed = toStorageError(unknown, 'x');
    expect(failed).toBeInstanceOf(StorageFailedError);
    expect(failed.code).toBe('storage-failed');
    expect(failed.message).toBe('x: UnknownError: disk');
    expect(toStorageError('weird', 'x')).toBeInstanceOf(StorageFailedError);
  });

  test('StorageErrors pass through unchanged', () => {
    const c = new StorageCorruptionError('segments[7]', 'checksum mismatch');
    expect(toStorageError(c, 'x', 'closed')).toBe(c);
    expect(c.message).toBe('segments[7]: checksum mismatch');
    expect(c.code).toBe('storage-corrupt');
  });
});
