// Election and Mutex over LocalClients on a 3-node cluster (the same scenarios run against a
// real etcd in test/etcd).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text } from '../../src/client/bytes.js';
import { Election } from '../../src/client/recipes/election.js';
import { Mutex } from '../../src/client/recipes/mutex.js';
import { Session } from '../../src/client/recipes/session.js';
import { startCluster, sleep, waitFor, type TestCluster } from './cluster.js';
import { electionScenario, mutexExpiryScenario, mutexScenario, withTimeout } from './scenarios.js';

describe('recipes over LocalClient', { timeout: 30_000 }, () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster();
  }, 30_000);
  afterAll(() => c.stop(), 30_000);

  it('election: one leader at a time, proclaim, resign hands over, observe sees it all', () =>
    electionScenario(c.clients, 'elect/a', 30));

  it('election: when the leader session expires, the next candidate takes over', async () => {
    const s1 = await Session.create(c.clients[0]!, { ttlSeconds: 2 });
    const s2 = await Session.create(c.clients[1]!, { ttlSeconds: 30 });
    const e1 = new Election(s1, 'elect/b');
    const e2 = new Election(s2, 'elect/b');
    await e1.campaign('first');
    const second = e2.campaign('second');
    s1.orphan();
    await withTimeout(second, 10_000, 'takeover after expiry');
    expect(text((await e2.leader()).kv.value)).toBe('second');
    await expect(e1.proclaim('zombie')).rejects.toMatchObject({ code: 'election-not-leader' });
    await s2.close();
  });

  it('election: an aborted campaign withdraws its candidacy', async () => {
    const s1 = await Session.create(c.clients[0]!, { ttlSeconds: 30 });
    const s2 = await Session.create(c.clients[2]!, { ttlSeconds: 30 });
    const e1 = new Election(s1, 'elect/c');
    const e2 = new Election(s2, 'elect/c');
    await e1.campaign('one');
    const ac = new AbortController();
    const p = e2.campaign('two', { signal: ac.signal });
    await sleep(50);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'aborted' });
    expect((await c.clients[0]!.get('elect/c/', { prefix: true })).count).toBe(1);
    await Promise.all([s1.close(), s2.close()]);
  });

  it('mutex: concurrent lockers are mutually exclusive with increasing fencing revisions', () =>
    mutexScenario(c.clients, 'lock/a', 4, 4, 30));

  it('mutex: a holder whose session expires loses the lock', () =>
    mutexExpiryScenario(c.clients, 'lock/b', c.leaseSecondMs));

  it('mutex: tryLock fails fast when held; the session key is reused on relock', async () => {
    const s1 = await Session.create(c.clients[0]!, { ttlSeconds: 30 });
    const s2 = await Session.create(c.clients[1]!, { ttlSeconds: 30 });
    const m1 = new Mutex(s1, 'lock/c');
    const m2 = new Mutex(s2, 'lock/c');
    await m1.tryLock();
    const f1 = m1.fencingRevision;
    await expect(m2.tryLock()).rejects.toMatchObject({ code: 'mutex-locked' });
    expect((await c.clients[0]!.get('lock/c/', { prefix: true })).count).toBe(1);
    // Locking again with the same session finds its own key: same fencing revision.
    await m1.lock();
    expect(m1.fencingRevision).toBe(f1);
    await m1.unlock();
    expect(await m1.isOwner()).toBe(false);
    await m2.lock();
    expect(m2.fencingRevision).toBeGreaterThan(f1);
    await Promise.all([s1.close(), s2.close()]);
    await waitFor(
      async () => (await c.clients[0]!.get('lock/c/', { prefix: true })).count === 0,
      5000,
      'keys revoked',
    );
  });
});
