// Every limit at its boundary: exactly at passes, one past fails (STYLE.md §4).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KV_CONFIG,
  InvalidConfigError,
  MAX_LEASE_TTL_SECONDS,
  resolveKvConfig,
  type RequestOp,
} from '../../src/kv/index.js';
import { TestStore, b, errCode } from './helpers.js';

const puts = (n: number, prefix = 'k'): RequestOp[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'put', request: { key: b(`${prefix}${i}`) } }));

describe('limits', () => {
  it("defaults are etcd's where etcd has one", () => {
    expect(DEFAULT_KV_CONFIG).toMatchObject({
      maxRequestBytes: 1_572_864,
      maxTxnOps: 128,
      watchBatchMaxRevisions: 1000,
      minLeaseTtlSeconds: 1,
    });
    expect(DEFAULT_KV_CONFIG.quotaBytes).toBe(128 * 1024 * 1024);
  });

  it('maxTxnOps: 128 success ops pass, 129 fail; likewise failure ops and compares', () => {
    const t = new TestStore();
    expect(errCode(t.apply({ type: 'txn', request: { success: puts(128) } }))).toBe('ok');
    expect(errCode(t.apply({ type: 'txn', request: { success: puts(129) } }))).toBe('too-many-ops');
    expect(errCode(t.apply({ type: 'txn', request: { failure: puts(128) } }))).toBe('ok');
    expect(errCode(t.apply({ type: 'txn', request: { failure: puts(129) } }))).toBe('too-many-ops');
    const cmp = (n: number) =>
      Array.from({ length: n }, () => ({
        key: b('k'),
        target: 'VERSION' as const,
        result: 'GREATER' as const,
        version: 0,
      }));
    expect(errCode(t.apply({ type: 'txn', request: { compare: cmp(128) } }))).toBe('ok');
    expect(errCode(t.apply({ type: 'txn', request: { compare: cmp(129) } }))).toBe('too-many-ops');
  });

  it('minLeaseTtlSeconds: a grant of exactly the minimum keeps it, one below is raised', () => {
    const t = new TestStore({ minLeaseTtlSeconds: 5 });
    const g = (id: string, ttlSeconds: number) =>
      t.apply({ type: 'leaseGrant', request: { id: id as never, ttlSeconds } });
    const r5 = g('1', 5);
    const r4 = g('2', 4);
    const r6 = g('3', 6);
    expect(
      [r5, r4, r6].map((r) => r.ok && r.type === 'leaseGrant' && r.response.ttlSeconds),
    ).toEqual([5, 5, 6]);
    expect(errCode(g('4', MAX_LEASE_TTL_SECONDS))).toBe('ok');
    expect(errCode(g('5', MAX_LEASE_TTL_SECONDS + 1))).toBe('lease-ttl-too-large');
  });

  it('watchBatchMaxRevisions: exactly max revisions come in one response, max + 1 in two', () => {
    for (const [n, responses] of [
      [4, 1],
      [5, 2],
    ] as const) {
      const t = new TestStore({ watchBatchMaxRevisions: 4 });
      for (let i = 0; i < n; i++) t.put('k');
      let count = 0;
      t.kv.watches.watch({ key: b('k'), startRevision: 1 }, (r) => {
        if (r.events.length > 0) count++;
      });
      expect(count).toBe(responses);
    }
  });

  it('config fields are validated with clear errors', () => {
    expect(() => resolveKvConfig({ maxTxnOps: 0 })).toThrow(InvalidConfigError);
    expect(() => resolveKvConfig({ maxTxnOps: 1 })).not.toThrow();
    expect(() => resolveKvConfig({ quotaBytes: 1.5 })).toThrow(/quotaBytes must be an integer/);
    expect(() => resolveKvConfig({ maxRequestBytes: 63 })).toThrow(InvalidConfigError);
    expect(() => resolveKvConfig({ maxRequestBytes: 64 })).not.toThrow();
    expect(() => resolveKvConfig({ minLeaseTtlSeconds: MAX_LEASE_TTL_SECONDS + 1 })).toThrow(
      InvalidConfigError,
    );
    expect(() => resolveKvConfig({ bogus: 1 } as never)).toThrow(/unknown field 'bogus'/);
  });

  it('apply insists on increasing indices; markApplied records non-KV entries', () => {
    const t = new TestStore();
    t.kv.markApplied(5);
    expect(t.kv.appliedIndex).toBe(5);
    expect(() => t.kv.apply({ type: 'put', request: { key: b('k') } }, { index: 5 })).toThrow(
      /invariant/,
    );
    t.kv.apply({ type: 'put', request: { key: b('k') } }, { index: 6 });
    expect(t.kv.appliedIndex).toBe(6);
  });
});
