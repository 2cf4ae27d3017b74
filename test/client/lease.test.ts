// Leases through LocalClient: grant/revoke/timeToLive/leases, attached keys deleted on revoke and
// on expiry, keepAlive handles that keep a lease alive and report its loss.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text } from '../../src/client/bytes.js';
import type { LocalClient } from '../../src/client/local-client.js';
import { startCluster, sleep, waitFor, type TestCluster } from './cluster.js';
import { keepAliveScenario } from './scenarios.js';

describe('LocalClient leases', { timeout: 30_000 }, () => {
  let c: TestCluster;
  let leader: LocalClient;
  let follower: LocalClient;
  beforeAll(async () => {
    c = await startCluster();
    const li = await c.leaderIndex();
    leader = c.clients[li]!;
    follower = c.clients[(li + 1) % 3]!;
  }, 30_000);
  afterAll(() => c.stop(), 30_000);

  it('grants with a chosen or a generated id, lists, describes and revokes', async () => {
    const g = await follower.grant(600, 7001);
    expect([g.id, g.ttlSeconds]).toEqual(['7001', 600]);
    await expect(follower.grant(600, '7001')).rejects.toMatchObject({ code: 'lease-exists' });
    const auto = await follower.grant(600);
    expect(auto.id).not.toBe('0');
    await follower.put('l/a', '1', { lease: g.id });
    await follower.put('l/b', '2', { lease: g.id });
    const ttl = await leader.timeToLive(g.id, { keys: true });
    expect(ttl.grantedTtlSeconds).toBe(600);
    expect(ttl.ttlSeconds).toBeGreaterThan(590);
    expect(ttl.ttlSeconds).toBeLessThanOrEqual(600);
    expect(ttl.keys.map(text)).toEqual(['l/a', 'l/b']);
    expect((await leader.timeToLive(g.id)).keys).toEqual([]);
    expect((await follower.leases()).leases.map((l) => l.id)).toEqual(
      expect.arrayContaining(['7001', auto.id]),
    );
    const kv = (await follower.get('l/a')).kvs[0]!;
    expect(kv.lease).toBe('7001');
    const before = (await follower.get('l/a')).header.revision;
    const r = await follower.revoke(g.id);
    // Revoking deletes the attached keys in one revision.
    expect(r.header.revision).toBe(before + 1);
    expect((await follower.get('l/', { prefix: true })).count).toBe(0);
    expect((await follower.timeToLive(g.id)).ttlSeconds).toBe(-1);
    await expect(follower.revoke(g.id)).rejects.toMatchObject({ code: 'lease-not-found' });
    await expect(follower.put('l/c', '3', { lease: g.id })).rejects.toMatchObject({
      code: 'lease-not-found',
    });
    await expect(follower.keepAliveOnce(g.id)).rejects.toMatchObject({ code: 'lease-not-found' });
    const once = await follower.keepAliveOnce(auto.id);
    expect([once.id, once.ttlSeconds]).toEqual([auto.id, 600]);
    await follower.revoke(auto.id);
  });

  it('deletes the keys of a lease that expires', async () => {
    const g = await follower.grant(1); // one lease second = 100 ms here
    await follower.put('exp/k', 'v', { lease: g.id });
    const t0 = Date.now();
    await waitFor(async () => (await follower.get('exp/k')).count === 0, 5000, 'expiry');
    // A TTL is a minimum: not deleted before it ran out.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(c.leaseSecondMs * 0.8);
    expect((await follower.timeToLive(g.id)).ttlSeconds).toBe(-1);
  });

  it('runs the shared keepAlive scenario', () =>
    keepAliveScenario(follower, 'ka/', c.leaseSecondMs));

  it('keepAlive reports loss when its member cannot reach a quorum for a whole TTL', async () => {
    const li = await c.leaderIndex();
    const fi = (li + 2) % 3;
    const f = c.clients[fi]!;
    const g = await f.grant(3);
    const ka = f.keepAlive(g.id, { ttlSeconds: g.ttlSeconds });
    await waitFor(() => ka.ttlSeconds === 3, 5000, 'first renewal');
    const lostAt: number[] = [];
    ka.on('lost', () => lostAt.push(Date.now()));
    const cut = Date.now();
    c.net.isolate(c.ids[fi]!);
    try {
      const lost = await ka.closed;
      expect(lost?.code).toBe('lease-lost');
      // Not before a TTL since the last successful renewal was sent (at most a TTL/3 before the cut).
      expect(lostAt[0]! - cut).toBeGreaterThanOrEqual(3 * c.leaseSecondMs * (2 / 3) - 20);
    } finally {
      c.net.heal();
    }
    await sleep(10);
  });
});
