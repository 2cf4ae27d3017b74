// WatchHub: etcd watch semantics (mvcc/watchable_store.go, api/v3rpc/watch.go) and the bounded
// buffering of slow sinks.
import { describe, expect, it } from 'vitest';
import { fragmentResponse, type WatchResponse } from '../../src/kv/index.js';
import { TestStore, b, ok, s } from './helpers.js';

function collect(): { got: WatchResponse[]; sink: (r: WatchResponse) => void } {
  const got: WatchResponse[] = [];
  return { got, sink: (r) => void got.push(r) };
}
const evs = (rs: WatchResponse[]) =>
  rs.flatMap((r) =>
    r.events.map(
      (e) =>
        `${e.type}:${s(e.kv.key)}@${e.kv.modRevision}${e.prevKv ? `<${e.prevKv.modRevision}` : ''}`,
    ),
  );

describe('watch', () => {
  it('created first; catch-up in one response with the current revision; live responses one revision each', () => {
    const t = new TestStore();
    t.put('a', '1'); // 2
    t.put('a', '2'); // 3
    const { got, sink } = collect();
    const id = t.kv.watches.watch({ key: b('a'), startRevision: 2, prevKv: true }, sink);
    expect(got[0]).toMatchObject({ watchId: id, created: true, header: { revision: 3 } });
    expect(got[1]).toMatchObject({ header: { revision: 3 } });
    expect(evs([got[1]!])).toEqual(['PUT:a@2', 'PUT:a@3<2']);
    t.del('a'); // 4
    expect(got[2]).toMatchObject({ header: { revision: 4 } });
    expect(evs([got[2]!])).toEqual(['DELETE:a@4<3']);
    // A DELETE event's kv has only key and modRevision (etcd).
    expect(got[2]!.events[0]!.kv).toMatchObject({
      createRevision: 0,
      version: 0,
      value: new Uint8Array(0),
      lease: '0',
    });
  });

  it('a start below the compact revision cancels with compactRevision and header revision 0 (etcd 3.4.23)', () => {
    const t = new TestStore();
    for (let i = 0; i < 5; i++) t.put('k', `${i}`);
    ok(t.compact(4));
    const { got, sink } = collect();
    t.kv.watches.watch({ key: b('k'), startRevision: 3 }, sink);
    expect(got[1]).toMatchObject({ canceled: true, compactRevision: 4, header: { revision: 0 } });
    expect(t.kv.watches.size).toBe(0);
  });

  it('a start at the compact revision sees its puts (no prevKv) but not its deletions (etcd 3.4.23)', () => {
    const t = new TestStore();
    t.put('w1', 'a'); // 2
    t.put('w2', 'a'); // 3
    t.put('w1', 'b'); // 4
    t.apply({
      type: 'txn',
      request: {
        success: [
          { type: 'deleteRange', request: { key: b('w1') } },
          { type: 'put', request: { key: b('w3'), value: b('c') } },
        ],
      },
    }); // 5
    t.put('w2', 'd'); // 6
    ok(t.compact(5));
    const { got, sink } = collect();
    t.kv.watches.watch({ key: b('w'), rangeEnd: b('x'), startRevision: 5, prevKv: true }, sink);
    expect(evs(got)).toEqual(['PUT:w3@5', 'PUT:w2@6<3']);
  });

  it('key >= rangeEnd answers created+canceled with id -1 (etcd 3.4.23: "mvcc: watcher range is empty")', () => {
    const t = new TestStore();
    const { got, sink } = collect();
    expect(t.kv.watches.watch({ key: b('b'), rangeEnd: b('a') }, sink)).toBe(-1);
    expect(got).toEqual([
      expect.objectContaining({
        watchId: -1,
        created: true,
        canceled: true,
        cancelReason: 'mvcc: watcher range is empty',
      }),
    ]);
  });

  it('filters drop events; a response left empty is not sent; prefix and from-key ranges', () => {
    const t = new TestStore();
    const noPut = collect();
    const all = collect();
    t.kv.watches.watch({ key: b('p/'), rangeEnd: b('p0'), filters: { noPut: true } }, noPut.sink);
    t.kv.watches.watch({ key: new Uint8Array(0), rangeEnd: new Uint8Array([0]) }, all.sink);
    t.put('p/1');
    t.put('q');
    t.del('p/1');
    expect(evs(noPut.got)).toEqual(['DELETE:p/1@4']);
    expect(noPut.got).toHaveLength(2);
    expect(evs(all.got)).toEqual(['PUT:p/1@2', 'PUT:q@3', 'DELETE:p/1@4']);
  });

  it('a future start revision waits for that revision', () => {
    const t = new TestStore();
    const { got, sink } = collect();
    t.kv.watches.watch({ key: b('k'), startRevision: 4 }, sink);
    t.put('k'); // 2
    t.put('k'); // 3
    t.put('k'); // 4
    expect(evs(got)).toEqual(['PUT:k@4']);
  });

  it('catch-up is split into batches of watchBatchMaxRevisions revisions', () => {
    const t = new TestStore({ watchBatchMaxRevisions: 2 });
    for (let i = 0; i < 5; i++) t.put('k', `${i}`);
    t.put('other');
    const { got, sink } = collect();
    t.kv.watches.watch({ key: b('k'), startRevision: 1 }, sink);
    expect(got.slice(1).map((r) => r.events.length)).toEqual([2, 2, 1]);
    expect(evs(got)).toEqual(['PUT:k@2', 'PUT:k@3', 'PUT:k@4', 'PUT:k@5', 'PUT:k@6']);
  });

  it('cancel answers canceled and stops delivery', () => {
    const t = new TestStore();
    const { got, sink } = collect();
    const id = t.kv.watches.watch({ key: b('k') }, sink);
    expect(t.kv.watches.cancel(id)).toBe(true);
    expect(got[1]).toMatchObject({ watchId: id, canceled: true });
    t.put('k');
    expect(got).toHaveLength(2);
    expect(t.kv.watches.cancel(id)).toBe(false);
  });

  it('progress goes to synced watchers; periodicProgress only to progressNotify watchers that got nothing', () => {
    const t = new TestStore();
    const a = collect();
    const c = collect();
    t.kv.watches.watch({ key: b('a'), progressNotify: true }, a.sink);
    t.kv.watches.watch({ key: b('c'), progressNotify: true }, c.sink);
    t.put('a'); // a got an event
    expect(t.kv.watches.periodicProgress()).toBe(1);
    expect(c.got.at(-1)).toMatchObject({ events: [], header: { revision: 2 } });
    expect(t.kv.watches.periodicProgress()).toBe(2);
    expect(t.kv.watches.progress()).toBe(2);
  });

  it('a slow sink keeps one refused response, gets nothing more, and catches up on resume', () => {
    const t = new TestStore();
    const got: WatchResponse[] = [];
    let accept = true;
    const id = t.kv.watches.watch({ key: b('k'), prevKv: true }, (r) => {
      if (!accept && r.events.length > 0) return false;
      got.push(r);
      return true;
    });
    t.put('k', '1'); // 2
    accept = false;
    t.put('k', '2'); // 3 refused, kept
    t.put('k', '3'); // 4 not sent: history is the buffer
    t.put('k', '4'); // 5
    expect(t.kv.watches.slowIds()).toEqual([id]);
    expect(evs(got)).toEqual(['PUT:k@2']);
    expect(t.kv.watches.progress()).toBe(0);
    accept = true;
    expect(t.kv.watches.resume(id)).toBe(true);
    expect(evs(got)).toEqual(['PUT:k@2', 'PUT:k@3<2', 'PUT:k@4<3', 'PUT:k@5<4']);
    t.put('k', '5');
    expect(evs(got).at(-1)).toBe('PUT:k@6<5');
  });

  it('a slow watcher overtaken by compaction is canceled with the compact revision on resume', () => {
    const t = new TestStore();
    let accept = false;
    const got: WatchResponse[] = [];
    const id = t.kv.watches.watch({ key: b('k') }, (r) => {
      if (!accept && r.events.length > 0) return false;
      got.push(r);
      return true;
    });
    t.put('k'); // 2 refused
    t.put('k'); // 3
    t.put('k'); // 4
    ok(t.compact(4));
    accept = true;
    expect(t.kv.watches.resume(id)).toBe(false);
    expect(evs(got)).toEqual(['PUT:k@2']);
    expect(got.at(-1)).toMatchObject({ canceled: true, compactRevision: 4 });
  });

  it('a throwing sink is removed, the others still get the revision, and the error surfaces', () => {
    const t = new TestStore();
    const good = collect();
    t.kv.watches.watch({ key: b('k') }, (r) => {
      if (r.events.length > 0) throw new Error('boom');
    });
    t.kv.watches.watch({ key: b('k') }, good.sink);
    expect(() => t.put('k')).toThrow(/watch sink threw/);
    expect(evs(good.got)).toEqual(['PUT:k@2']);
    expect(t.kv.watches.size).toBe(1);
    expect(t.kv.revision).toBe(2);
    t.put('k');
    expect(evs(good.got)).toEqual(['PUT:k@2', 'PUT:k@3']);
  });

  it('a sink may not apply commands (re-entrant apply is a bug)', () => {
    const t = new TestStore();
    t.kv.watches.watch({ key: b('k') }, (r) => {
      if (r.events.length > 0) t.put('other');
    });
    expect(() => t.put('k')).toThrow(/watch sink threw/);
  });
});

describe('fragment', () => {
  it('splits a response at maxRequestBytes like etcd sendFragments; small or single-event responses stay whole', () => {
    const t = new TestStore();
    const big = 'x'.repeat(400);
    t.apply({
      type: 'txn',
      request: {
        success: ['a', 'b', 'c', 'd', 'e'].map((k) => ({
          type: 'put' as const,
          request: { key: b(k), value: b(big) },
        })),
      },
    });
    const got: WatchResponse[] = [];
    t.kv.watches.watch(
      { key: b('a'), rangeEnd: b('z'), startRevision: 2, fragment: true },
      (r) => void got.push(r),
    );
    expect(got).toHaveLength(2); // created + one: 5 × ~420 bytes < 1.5 MiB
    const resp = got[1]!;
    const parts = fragmentResponse(resp, 1000);
    expect(parts.map((p) => p.events.length)).toEqual([2, 2, 1]);
    expect(parts.map((p) => p.fragment)).toEqual([true, true, false]);
    expect(parts.flatMap((p) => p.events)).toEqual(resp.events);
    expect(fragmentResponse({ ...resp, events: resp.events.slice(0, 1) }, 10)).toHaveLength(1);
  });
});
