// Leases: grant/revoke/attach through the log; expiry counted on the leader from ticks.
// etcd references: lease/lessor.go (Grant, Revoke, Renew, Promote), etcdserver/v3_server.go.
import { describe, expect, it } from 'vitest';
import { MAX_LEASE_TTL_SECONDS, leaseIdForIndex, type LeaseId } from '../../src/kv/index.js';
import { TestStore, b, errCode, ok, s } from './helpers.js';

const L = (x: string) => x as LeaseId;
const grant = (t: TestStore, ttlSeconds: number, id?: string, nowTick?: number) =>
  t.apply(
    { type: 'leaseGrant', request: { ttlSeconds, ...(id === undefined ? {} : { id: L(id) }) } },
    nowTick,
  );
const revoke = (t: TestStore, id: string) =>
  t.apply({ type: 'leaseRevoke', request: { id: L(id) } });

describe('lease grant', () => {
  it('raises ttl to minLeaseTtlSeconds, rejects > MaxLeaseTTL and duplicates (etcd 3.4.23: TTL 1 → 2 with min 2)', () => {
    const t = new TestStore({ minLeaseTtlSeconds: 2 });
    expect(ok(grant(t, 1, '123'))).toEqual({ header: { revision: 1 }, id: '123', ttlSeconds: 2 });
    expect(ok(grant(t, -5, '-7')).ttlSeconds).toBe(2);
    expect(errCode(grant(t, MAX_LEASE_TTL_SECONDS + 1, '125'))).toBe('lease-ttl-too-large');
    expect(errCode(grant(t, MAX_LEASE_TTL_SECONDS, '125'))).toBe('ok');
    expect(errCode(grant(t, 10, '123'))).toBe('lease-exists');
  });

  it('picks an id from the Raft index when none is given: positive, deterministic, never taken', () => {
    const t = new TestStore();
    const r = ok(grant(t, 10));
    expect(BigInt(r.id) > 0n).toBe(true);
    expect(r.id).toBe(leaseIdForIndex(1, () => false));
    const other = new TestStore();
    const atIndex2 = leaseIdForIndex(2, () => false);
    ok(grant(other, 10, atIndex2)); // index 1 takes the id index 2 would pick
    const again = ok(grant(other, 5)); // index 2: taken, so the next id up
    expect(BigInt(again.id)).toBe(BigInt(atIndex2) + 1n);
  });
});

describe('attach and revoke', () => {
  it('revoke deletes the attached keys in one revision, in key order (etcd: Revoke sorts keys)', () => {
    const t = new TestStore();
    ok(grant(t, 10, '5'));
    t.put('b', '1', { lease: L('5') });
    t.put('a', '1', { lease: L('5') });
    t.put('c', '1');
    const events: string[] = [];
    t.kv.watches.watch({ key: b('a'), rangeEnd: b('z') }, (r) => {
      for (const e of r.events) events.push(`${e.type}:${s(e.kv.key)}@${e.kv.modRevision}`);
    });
    expect(ok(revoke(t, '5')).header.revision).toBe(5);
    expect(events).toEqual(['DELETE:a@5', 'DELETE:b@5']);
    expect(t.keys('a', 'z')).toEqual(['c']);
    expect(errCode(revoke(t, '5'))).toBe('lease-not-found');
  });

  it('revoking a lease without keys does not bump the revision', () => {
    const t = new TestStore();
    ok(grant(t, 10, '5'));
    expect(ok(revoke(t, '5')).header.revision).toBe(1);
  });

  it('a put moves a key between leases; a delete detaches it', () => {
    const t = new TestStore();
    ok(grant(t, 10, '1'));
    ok(grant(t, 10, '2'));
    t.put('k', 'v', { lease: L('1') });
    t.put('k', 'v', { lease: L('2') });
    expect(t.kv.leaseTimeToLive({ id: L('1'), keys: true }).keys).toEqual([]);
    expect(t.kv.leaseTimeToLive({ id: L('2'), keys: true }).keys).toEqual([b('k')]);
    t.put('k', 'v');
    expect(t.kv.leaseTimeToLive({ id: L('2'), keys: true }).keys).toEqual([]);
    t.put('k', 'v', { lease: L('2') });
    t.del('k');
    ok(revoke(t, '2'));
    expect(t.kv.revision).toBe(6);
    t.kv.checkInvariants();
  });

  it('timeToLive of a missing lease answers TTL -1 (etcd: LeaseTimeToLive maps not-found to -1)', () => {
    const t = new TestStore();
    expect(t.kv.leaseTimeToLive({ id: L('999') })).toMatchObject({
      id: '999',
      ttlSeconds: -1,
      grantedTtlSeconds: 0,
    });
  });
});

describe('leader clock', () => {
  const TPS = 10; // ticks per second

  it('only a promoted lessor expires leases; promote gives a full TTL from now (etcd: Promote extends)', () => {
    const t = new TestStore();
    ok(grant(t, 5, '1'));
    expect(t.kv.lessor.expired(1_000_000)).toEqual([]);
    t.kv.lessor.promote(100, TPS);
    expect(t.kv.lessor.expired(149)).toEqual([]);
    expect(t.kv.lessor.expired(150)).toEqual(['1']);
    // Reported again only after the retry interval (3 s) if the revoke has not applied.
    expect(t.kv.lessor.expired(151)).toEqual([]);
    expect(t.kv.lessor.expired(180)).toEqual(['1']);
    t.kv.lessor.demote();
    expect(t.kv.lessor.expired(10_000)).toEqual([]);
  });

  it('a grant on the leader counts from ctx.nowTick; renew restarts the TTL; remaining TTL truncates', () => {
    const t = new TestStore();
    t.kv.lessor.promote(0, TPS);
    ok(grant(t, 10, '1', 50));
    expect(t.kv.leaseTimeToLive({ id: L('1') }, 50).ttlSeconds).toBe(10);
    expect(t.kv.leaseTimeToLive({ id: L('1') }, 55).ttlSeconds).toBe(9);
    expect(t.kv.lessor.renew(L('1'), 120)).toEqual({
      ok: true,
      ttlSeconds: 10,
      clearCheckpoint: false,
    });
    expect(t.kv.lessor.expired(219)).toEqual([]);
    expect(t.kv.lessor.expired(220)).toEqual(['1']);
    const late = t.kv.lessor.renew(L('1'), 221);
    expect(!late.ok && late.error.code).toBe('lease-expired');
    const missing = t.kv.lessor.renew(L('2'), 221);
    expect(!missing.ok && missing.error.code).toBe('lease-not-found');
  });

  it('renew on a follower fails not-primary (keepAlive is served by the leader)', () => {
    const t = new TestStore();
    ok(grant(t, 10, '1'));
    const r = t.kv.lessor.renew(L('1'), 0);
    expect(!r.ok && r.error.code).toBe('lease-not-primary');
  });

  it('a checkpointed remaining TTL is what a new leader resumes from; renew asks to clear it', () => {
    const t = new TestStore();
    ok(grant(t, 60, '1'));
    ok(
      t.apply({
        type: 'leaseCheckpoint',
        request: { checkpoints: [{ id: L('1'), remainingTtlSeconds: 7 }] },
      }),
    );
    t.kv.lessor.promote(1000, TPS);
    expect(t.kv.lessor.expired(1069)).toEqual([]);
    expect(t.kv.lessor.expired(1070)).toEqual(['1']);
    t.kv.lessor.promote(2000, TPS);
    expect(t.kv.lessor.renew(L('1'), 2000)).toEqual({
      ok: true,
      ttlSeconds: 60,
      clearCheckpoint: true,
    });
    expect(t.kv.lessor.checkpoints(2100)).toEqual([{ id: '1', remainingTtlSeconds: 50 }]);
  });

  it('expired() honours its limit, soonest first; leases lists soonest expiry first', () => {
    const t = new TestStore();
    t.kv.lessor.promote(0, 1);
    ok(grant(t, 30, '3', 0));
    ok(grant(t, 10, '1', 0));
    ok(grant(t, 20, '2', 0));
    expect(t.kv.lessor.expired(100, 2)).toEqual(['1', '2']);
    expect(t.kv.leaseLeases().leases).toEqual([{ id: '1' }, { id: '2' }, { id: '3' }]);
  });
});
