// Watches through LocalClient: catch-up, live events, cancel, compaction, resume without gaps,
// progress, filters, bounded buffering, and the listener/iterator delivery rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text } from '../../src/client/bytes.js';
import type { LocalClient } from '../../src/client/local-client.js';
import type { WatchResponse } from '../../src/client/watch.js';
import type { WatchEvent } from '../../src/kv/index.js';
import { startCluster, waitFor, type TestCluster } from './cluster.js';
import { watchScenario } from './scenarios.js';

const evs = (es: readonly WatchEvent[]) =>
  es.map((e) => `${e.type} ${text(e.kv.key)}${e.type === 'PUT' ? `=${text(e.kv.value)}` : ''}`);

describe('LocalClient watch', { timeout: 30_000 }, () => {
  let c: TestCluster;
  let leader: LocalClient;
  let follower: LocalClient;
  beforeAll(async () => {
    c = await startCluster({ progressEveryTicks: 20 });
    const li = await c.leaderIndex();
    leader = c.clients[li]!;
    follower = c.clients[(li + 1) % 3]!;
  }, 30_000);
  afterAll(() => c.stop(), 30_000);

  it('runs the shared watch scenario on the leader', () => watchScenario(leader, 'ws1/'));
  it('runs the shared watch scenario on a follower', () => watchScenario(follower, 'ws2/'));

  it('delivers one response per revision, atomically, on a follower watching writes made on the leader', async () => {
    const w = follower.watch('atom/', { prefix: true });
    await w.created;
    const got: WatchResponse[] = [];
    w.on('events', (r) => got.push(r));
    const t = await leader
      .if()
      .then(
        ...['atom/a', 'atom/b', 'atom/c'].map((k) => ({
          type: 'put' as const,
          request: { key: new TextEncoder().encode(k), value: new TextEncoder().encode('1') },
        })),
      )
      .commit();
    await leader.delete('atom/', { prefix: true });
    await waitFor(() => got.length >= 2, 5000, 'two revisions');
    expect(got.map((r) => r.events.length)).toEqual([3, 3]);
    expect(got[0]!.header.revision).toBe(t.header.revision);
    expect(got[0]!.events.every((e) => e.kv.modRevision === t.header.revision)).toBe(true);
    expect(got[0]!.header.memberId).toBe(follower.server.id);
    await w.cancel();
  });

  it('filters PUTs or DELETEs', async () => {
    const noPut = leader.watch('flt', { noPut: true });
    const noDel = leader.watch('flt', { noDelete: true });
    const a: WatchEvent[] = [];
    const b: WatchEvent[] = [];
    noPut.on('events', (r) => a.push(...r.events));
    noDel.on('events', (r) => b.push(...r.events));
    await Promise.all([noPut.created, noDel.created]);
    await leader.put('flt', '1');
    await leader.delete('flt');
    await leader.put('flt', '2');
    await waitFor(() => a.length >= 1 && b.length >= 2, 5000, 'filtered events');
    expect(evs(a)).toEqual(['DELETE flt']);
    expect(evs(b)).toEqual(['PUT flt=1', 'PUT flt=2']);
    await Promise.all([noPut.cancel(), noDel.cancel()]);
  });

  it('answers progress requests and periodic progress notifications', async () => {
    const w = follower.watch('prog/', { prefix: true, progressNotify: true });
    const created = await w.created;
    const progress: WatchResponse[] = [];
    w.on('progress', (r) => progress.push(r));
    // Writes elsewhere move the store on; a progress notification says "nothing for you up to R".
    const p = await leader.put('elsewhere', 'x');
    await waitFor(
      async () => (await follower.get('elsewhere', { serializable: true })).count === 1,
      5000,
      'applied on the follower',
    );
    await w.requestProgress();
    await waitFor(() => progress.length >= 1, 5000, 'progress response');
    expect(progress[0]!.progressNotify).toBe(true);
    expect(progress[0]!.events).toEqual([]);
    expect(progress[0]!.header.revision).toBeGreaterThanOrEqual(p.header.revision);
    expect(w.lastRevision).toBe(progress[0]!.header.revision);
    expect(w.lastRevision).toBeGreaterThan(created.revision);
    // progressEveryTicks = 20 (100 ms): an idle watcher gets periodic notifications.
    const before = progress.length;
    await waitFor(() => progress.length >= before + 2, 5000, 'periodic progress');
    await w.cancel();
  });

  it('holds responses until the first consumer attaches', async () => {
    const w = leader.watch('held/', { prefix: true });
    await w.created;
    await leader.put('held/1', 'a');
    await leader.put('held/2', 'b');
    // No consumer yet: nothing is lost.
    const got: WatchEvent[] = [];
    for await (const r of w) {
      got.push(...r.events);
      if (got.length === 2) break;
    }
    expect(evs(got)).toEqual(['PUT held/1=a', 'PUT held/2=b']);
    expect(w.isDone).toBe(true);
  });

  it('cancels an empty range at once with watch-canceled', async () => {
    const w = leader.watch('b', { rangeEnd: 'a' });
    const end = await w.done;
    expect(end.reason === 'error' && end.error.code).toBe('watch-canceled');
    await expect(w.created).rejects.toMatchObject({ code: 'watch-canceled' });
    const it = w[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: 'watch-canceled' });
  });

  it('cancels a consumer that falls too far behind, and resume loses nothing', async () => {
    const w = leader.watch('ovf/', { prefix: true, maxBufferedResponses: 5 });
    const it = w[Symbol.asyncIterator]();
    await w.created;
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await leader.put(`ovf/${i}`, String(i))).header.revision;
    const end = await w.done;
    expect(end.reason === 'error' && end.error.code).toBe('watch-overflow');
    // What was accepted is still delivered, then the error.
    const first: WatchEvent[] = [];
    let thrown: unknown;
    try {
      for (;;) {
        const n = await it.next();
        if (n.done === true) break;
        first.push(...n.value.events);
      }
    } catch (err) {
      thrown = err;
    }
    expect((thrown as { code?: string }).code).toBe('watch-overflow');
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(12);
    expect(first.at(-1)!.kv.modRevision).toBe(w.lastRevision);
    // Resuming from lastRevision + 1 delivers exactly the rest.
    const w2 = w.resume();
    const rest: WatchEvent[] = [];
    for await (const r of w2) {
      rest.push(...r.events);
      if (rest.at(-1)!.kv.modRevision >= last) break;
    }
    expect([...first, ...rest].map((e) => text(e.kv.value))).toEqual(
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
  });

  it('reports a throwing listener to error listeners and keeps delivering', async () => {
    const w = leader.watch('thr');
    await w.created;
    const errors: string[] = [];
    let calls = 0;
    w.on('error', (e) => errors.push(e.code));
    w.on('events', () => {
      calls++;
      throw new Error('listener bug');
    });
    await leader.put('thr', '1');
    await leader.put('thr', '2');
    await waitFor(() => calls === 2, 5000, 'both events delivered');
    expect(errors).toEqual(['internal', 'internal']);
    await w.cancel();
  });

  it('ends every watch of a client when it closes', async () => {
    const { LocalClient } = await import('../../src/client/local-client.js');
    const own = new LocalClient(leader.server);
    const w = own.watch('closing/', { prefix: true });
    await w.created;
    const canceled: string[] = [];
    w.on('canceled', (e) => canceled.push(e.reason));
    await own.close();
    expect(await w.done).toEqual({ reason: 'canceled' });
    expect(canceled).toEqual(['canceled']);
    expect((await own.watch('x').done).reason).toBe('error');
  });
});
