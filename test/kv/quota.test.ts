// NOSPACE quota (etcd: etcdserver/quota.go, apply.go applierV3Capped). usedBytes is the estimate
// of quota.ts: Σ (256 + key + value) over retained versions + 64 per lease.
import { describe, expect, it } from 'vitest';
import { KV_OVERHEAD_BYTES, LEASE_OVERHEAD_BYTES } from '../../src/kv/index.js';
import { TestStore, b, errCode, ok } from './helpers.js';

describe('quota', () => {
  it('usedBytes follows the documented formula', () => {
    const t = new TestStore();
    t.put('ab', 'xyz');
    t.del('ab');
    ok(t.apply({ type: 'leaseGrant', request: { id: '1' as never, ttlSeconds: 10 } }));
    expect(t.kv.usedBytes).toBe(
      KV_OVERHEAD_BYTES + 2 + 3 + (KV_OVERHEAD_BYTES + 2) + LEASE_OVERHEAD_BYTES,
    );
  });

  it('a put is admitted while usedBytes + cost < quotaBytes: one byte under passes, exactly at fails and arms NOSPACE', () => {
    const cost = KV_OVERHEAD_BYTES + 1 + 10; // key 'k', 10-byte value
    const under = new TestStore({ quotaBytes: cost + 1 });
    expect(errCode(under.put('k', '0123456789'))).toBe('ok');
    const at = new TestStore({ quotaBytes: cost });
    const r = at.put('k', '0123456789');
    expect(errCode(r)).toBe('quota-exceeded');
    expect(!r.ok && r.error.etcdMessage).toBe('etcdserver: mvcc: database space exceeded');
    expect(at.kv.alarmList().alarms).toEqual(['NOSPACE']);
    expect(at.kv.revision).toBe(1);
  });

  it('while armed: puts, txns with puts and grants fail; reads, deletes, read-only txns, revokes and compaction work', () => {
    const t = new TestStore({ quotaBytes: 2000 });
    ok(t.apply({ type: 'leaseGrant', request: { id: '1' as never, ttlSeconds: 10 } }));
    for (let i = 0; i < 5; i++)
      t.put(`k${i}`, 'x'.repeat(200), i === 0 ? { lease: '1' as never } : {});
    expect(t.kv.alarmArmed).toBe(true);
    expect(errCode(t.put('small', '1'))).toBe('quota-exceeded');
    expect(
      errCode(
        t.apply({ type: 'txn', request: { success: [{ type: 'put', request: { key: b('a') } }] } }),
      ),
    ).toBe('quota-exceeded');
    // Nested puts count too (deliberate deviation: etcd 3.4's cost ignores them).
    expect(
      errCode(
        t.apply({
          type: 'txn',
          request: {
            success: [
              { type: 'txn', request: { success: [{ type: 'put', request: { key: b('a') } }] } },
            ],
          },
        }),
      ),
    ).toBe('quota-exceeded');
    expect(
      errCode(t.apply({ type: 'leaseGrant', request: { id: '2' as never, ttlSeconds: 10 } })),
    ).toBe('quota-exceeded');
    expect(errCode(t.kv.range({ key: b('k0') }))).toBe('ok');
    expect(
      errCode(
        t.apply({
          type: 'txn',
          request: { success: [{ type: 'range', request: { key: b('k0') } }] },
        }),
      ),
    ).toBe('ok');
    expect(errCode(t.del('k1'))).toBe('ok');
    expect(errCode(t.apply({ type: 'leaseRevoke', request: { id: '1' as never } }))).toBe('ok');
    expect(errCode(t.compact(t.kv.revision))).toBe('ok');
    // Still armed until disarmed, even with room again (etcd).
    expect(errCode(t.put('small', '1'))).toBe('quota-exceeded');
    expect(ok(t.apply({ type: 'alarmDisarm', request: { alarm: 'NOSPACE' } })).alarms).toEqual([
      'NOSPACE',
    ]);
    expect(errCode(t.put('small', '1'))).toBe('ok');
    expect(ok(t.apply({ type: 'alarmDisarm', request: { alarm: 'NOSPACE' } })).alarms).toEqual([]);
  });

  it('disarming without freeing space lets the next write re-arm the alarm (etcd 3.4.23 did the same)', () => {
    const t = new TestStore({ quotaBytes: 1000 });
    t.put('a', 'x'.repeat(400));
    expect(errCode(t.put('b', 'x'.repeat(400)))).toBe('quota-exceeded');
    ok(t.apply({ type: 'alarmDisarm', request: { alarm: 'NOSPACE' } }));
    expect(errCode(t.put('b', 'x'.repeat(400)))).toBe('quota-exceeded');
    expect(t.kv.alarmArmed).toBe(true);
  });

  it('the alarm survives snapshot and restore', () => {
    const t = new TestStore({ quotaBytes: 300 });
    t.put('a', 'x'.repeat(100));
    const r = new TestStore(
      { quotaBytes: 300 },
      (t.kv.constructor as typeof import('../../src/kv/index.js').KvStore).restore(
        t.kv.snapshot(),
        { quotaBytes: 300 },
      ),
    );
    expect(r.kv.alarmArmed).toBe(true);
  });
});
