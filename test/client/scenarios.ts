// Client scenarios that must hold on both backends: the vitest suite runs them over LocalClients
// on an in-process tabd cluster, test/etcd runs them over EtcdClients on a real etcd. Each
// throws (node:assert) on failure. Keys live under a per-scenario prefix so runs do not meet.
import assert from 'node:assert/strict';
import { text } from '../../src/client/bytes.js';
import type { KvClient } from '../../src/client/types.js';
import type { WatchEvent } from '../../src/kv/index.js';
import { Election } from '../../src/client/recipes/election.js';
import { Mutex } from '../../src/client/recipes/mutex.js';
import { Session } from '../../src/client/recipes/session.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** eventually polls cond until it holds, or fails after timeoutMs. */
export async function eventually(
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/** withTimeout rejects if p does not settle within ms. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

const describeEvents = (evs: readonly WatchEvent[]): string[] =>
  evs.map(
    (e) =>
      `${e.type} ${text(e.kv.key)}${e.type === 'PUT' ? `=${text(e.kv.value)}` : ''}@${e.kv.modRevision}`,
  );

/**
 * watchScenario: live events in order with prevKv; catch-up from a past revision; cancel ends
 * the iteration; resume from lastRevision + 1 after writes made while no watch was open misses
 * nothing and repeats nothing; a watch from a compacted revision ends with `compacted`.
 */
export async function watchScenario(client: KvClient, prefix: string): Promise<void> {
  const k = (s: string) => `${prefix}${s}`;
  const start = await client.put(k('0'), 'zero');
  const w = client.watch(prefix, { prefix: true, prevKv: true });
  const created = await withTimeout(w.created, 5000, 'watch created');
  assert.ok(created.revision >= start.header.revision);
  const seen: WatchEvent[] = [];
  w.on('events', (r) => seen.push(...r.events));
  await client.put(k('1'), 'a');
  await client.put(k('1'), 'b');
  const del = await client.delete(k('1'));
  await eventually(() => seen.length >= 3, 5000, 'three live events');
  assert.deepEqual(
    describeEvents(seen).map((s) => s.replace(/@\d+$/, '')),
    [`PUT ${k('1')}=a`, `PUT ${k('1')}=b`, `DELETE ${k('1')}`],
  );
  assert.equal(text(seen[1]!.prevKv?.value), 'a');
  assert.equal(text(seen[2]!.prevKv?.value), 'b');
  assert.equal(w.lastRevision, del.header.revision);

  // Cancel, write while nobody watches, resume: exactly the missed events.
  await w.cancel();
  assert.deepEqual(await w.done, { reason: 'canceled' });
  const p2 = await client.put(k('2'), 'c');
  await client.put(k('3'), 'd');
  const w2 = w.resume();
  const got: WatchEvent[] = [];
  for await (const resp of w2) {
    got.push(...resp.events);
    if (got.length >= 2) break; // leaving the loop cancels the watch
  }
  assert.deepEqual(
    describeEvents(got).map((s) => s.replace(/@\d+$/, '')),
    [`PUT ${k('2')}=c`, `PUT ${k('3')}=d`],
  );
  assert.equal(got[0]!.kv.modRevision, p2.header.revision);
  await withTimeout(w2.done, 5000, 'resumed watch ends after break');

  // Catch-up from a past revision replays history in order.
  const w3 = client.watch(prefix, { prefix: true, startRevision: start.header.revision });
  const replay: WatchEvent[] = [];
  for await (const resp of w3) {
    replay.push(...resp.events);
    if (replay.length >= 6) break;
  }
  assert.deepEqual(
    describeEvents(replay).map((s) => s.replace(/@\d+$/, '')),
    [
      `PUT ${k('0')}=zero`,
      `PUT ${k('1')}=a`,
      `PUT ${k('1')}=b`,
      `DELETE ${k('1')}`,
      `PUT ${k('2')}=c`,
      `PUT ${k('3')}=d`,
    ],
  );

  // Compaction overtakes a watch that starts below it: it ends with `compacted`, never skips.
  const last = await client.put(k('4'), 'e');
  await client.compact(last.header.revision);
  const w4 = client.watch(prefix, { prefix: true, startRevision: start.header.revision });
  let thrown: unknown;
  try {
    for await (const _ of w4) {
      assert.fail('a compacted watch must not deliver events');
    }
  } catch (err) {
    thrown = err;
  }
  assert.equal((thrown as { code?: string }).code, 'compacted');
  const end = await w4.done;
  assert.equal(end.reason, 'compacted');
  assert.equal(end.reason === 'compacted' ? end.compactRevision : 0, last.header.revision);
}

/**
 * keepAliveScenario: a kept-alive lease outlives several TTLs with its key; after close() it
 * expires and its key is deleted; a keepAlive of a revoked lease reports the loss.
 */
export async function keepAliveScenario(
  client: KvClient,
  prefix: string,
  leaseSecondMs: number,
): Promise<void> {
  const g = await client.grant(2);
  const ttlMs = g.ttlSeconds * leaseSecondMs;
  await client.put(`${prefix}held`, 'x', { lease: g.id });
  const ka = client.keepAlive(g.id, { ttlSeconds: g.ttlSeconds });
  let renewals = 0;
  ka.on('keepalive', () => renewals++);
  await sleep(ttlMs * 3);
  assert.equal(ka.isLost, false);
  assert.ok(renewals >= 3, `expected >= 3 renewals in 3 TTLs, got ${renewals}`);
  assert.equal(
    (await client.get(`${prefix}held`)).kvs.length,
    1,
    'a kept-alive lease keeps its key',
  );
  ka.close();
  assert.equal(await ka.closed, undefined);
  await eventually(
    async () => (await client.get(`${prefix}held`)).kvs.length === 0,
    ttlMs * 4 + 5000,
    'expired lease deletes its key',
  );
  assert.equal((await client.timeToLive(g.id)).ttlSeconds, -1);

  const g2 = await client.grant(5);
  await client.revoke(g2.id);
  const ka2 = client.keepAlive(g2.id);
  const lost = await withTimeout(ka2.closed, 5000, 'keepAlive of a revoked lease reports loss');
  assert.equal(lost?.code, 'lease-lost');
  assert.equal((lost?.cause as { code?: string } | undefined)?.code, 'lease-not-found');
}

/**
 * electionScenario: two candidates; one leader at a time; proclaim changes the value; resign
 * hands over to the waiting candidate; an observer sees every leader and value in order.
 */
export async function electionScenario(
  clients: readonly KvClient[],
  prefix: string,
  sessionTtl: number,
): Promise<void> {
  const c1 = clients[0]!;
  const c2 = clients[1 % clients.length]!;
  const c3 = clients[2 % clients.length]!;
  const [s1, s2, s3] = await Promise.all([
    Session.create(c1, { ttlSeconds: sessionTtl }),
    Session.create(c2, { ttlSeconds: sessionTtl }),
    Session.create(c3, { ttlSeconds: sessionTtl }),
  ]);
  try {
    const e1 = new Election(s1, prefix);
    const e2 = new Election(s2, prefix);
    const observer = new Election(s3, prefix);
    const observed: string[] = [];
    const ac = new AbortController();
    const observing = (async () => {
      try {
        for await (const l of observer.observe({ signal: ac.signal }))
          observed.push(text(l.kv.value));
      } catch (err) {
        if ((err as { code?: string }).code !== 'aborted') throw err;
      }
    })();

    let leaders = 0;
    let maxLeaders = 0;
    const lead = () => {
      leaders++;
      maxLeaders = Math.max(maxLeaders, leaders);
    };
    await withTimeout(e1.campaign('one'), 5000, 'first candidate wins');
    lead();
    let e2won = false;
    const e2campaign = e2.campaign('two').then(() => {
      e2won = true;
      lead();
    });
    await sleep(300);
    assert.equal(e2won, false, 'the second candidate must wait while the first leads');
    assert.equal(text((await e1.leader()).kv.value), 'one');
    await e1.proclaim('one-b');
    assert.equal(text((await e2.leader()).kv.value), 'one-b');
    await assert.rejects(e2.proclaim('nope'), { code: 'election-not-leader' });
    leaders--;
    await e1.resign();
    await withTimeout(e2campaign, 5000, 'resign hands leadership over');
    assert.equal(maxLeaders, 1, 'one leader at a time');
    assert.equal(text((await e1.leader()).kv.value), 'two');
    assert.ok(e2.rev > e1.rev || e1.rev === 0);
    await eventually(
      () => observed.at(-1) === 'two',
      5000,
      `observer sees the new leader (saw ${JSON.stringify(observed)})`,
    );
    assert.deepEqual(observed, ['one', 'one-b', 'two']);
    await e2.resign();
    await assert.rejects(e1.leader(), { code: 'election-no-leader' });
    ac.abort();
    await withTimeout(observing, 5000, 'observe stops on abort');
  } finally {
    await Promise.all([s1.close(), s2.close(), s3.close()]);
  }
}

/**
 * mutexScenario: concurrent lockers (each with its own session) never overlap, and the fencing
 * revisions of successive holders strictly increase.
 */
export async function mutexScenario(
  clients: readonly KvClient[],
  prefix: string,
  lockers: number,
  rounds: number,
  sessionTtl: number,
): Promise<void> {
  const sessions = await Promise.all(
    Array.from({ length: lockers }, (_, i) =>
      Session.create(clients[i % clients.length]!, { ttlSeconds: sessionTtl }),
    ),
  );
  try {
    let holder = -1;
    const fencing: number[] = [];
    await Promise.all(
      sessions.map(async (s, i) => {
        const m = new Mutex(s, prefix);
        for (let r = 0; r < rounds; r++) {
          await withTimeout(m.lock(), 20_000, `locker ${i} round ${r}`);
          assert.equal(holder, -1, `locker ${i} got the lock while ${holder} held it`);
          holder = i;
          fencing.push(m.fencingRevision);
          // Hold it across a real write, so another locker has time to (wrongly) get in.
          await s.client.put(`${prefix}-data`, `${i}:${r}`);
          await sleep(5);
          assert.equal(await m.isOwner(), true);
          holder = -1;
          await m.unlock();
        }
      }),
    );
    assert.equal(fencing.length, lockers * rounds);
    for (let j = 1; j < fencing.length; j++) {
      assert.ok(
        fencing[j]! > fencing[j - 1]!,
        `fencing revisions must increase: ${fencing.join(',')}`,
      );
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

/**
 * mutexExpiryScenario: a holder whose session expires loses the lock: its key is deleted, a
 * waiter gets the lock with a higher fencing revision, and the old holder learns it is not the
 * owner any more.
 */
export async function mutexExpiryScenario(
  clients: readonly KvClient[],
  prefix: string,
  leaseSecondMs: number,
): Promise<void> {
  const s1 = await Session.create(clients[0]!, { ttlSeconds: 2 });
  const s2 = await Session.create(clients[1 % clients.length]!, { ttlSeconds: 30 });
  try {
    const m1 = new Mutex(s1, prefix);
    const m2 = new Mutex(s2, prefix);
    await m1.lock();
    let m2locked = false;
    const waiting = m2.lock().then(() => (m2locked = true));
    await sleep(3 * leaseSecondMs);
    assert.equal(m2locked, false, 'the waiter must wait while the holder is alive');
    // The holder's tab vanishes: its lease is no longer renewed and expires.
    s1.orphan();
    await withTimeout(
      waiting,
      10 * leaseSecondMs + 5000,
      'the waiter gets the lock after the holder session expires',
    );
    assert.ok(m2.fencingRevision > m1.fencingRevision);
    assert.equal(await m1.isOwner(), false);
    assert.equal(await m2.isOwner(), true);
    await m2.unlock();
  } finally {
    await s2.close();
    await s1.close().catch(() => {});
  }
}
