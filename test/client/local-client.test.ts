// LocalClient over a 3-node in-process cluster: every KV call, the txn builder, typed errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toBytes } from '../../src/client/bytes.js';
import { ClientClosedError, isTabdError } from '../../src/client/errors.js';
import { LocalClient } from '../../src/client/local-client.js';
import { compare, op } from '../../src/client/txn-builder.js';
import { CompactedError, KvError, type KeyValue } from '../../src/kv/index.js';
import { NodeError } from '../../src/node/errors.js';
import { startCluster, waitFor, type TestCluster } from './cluster.js';

const keys = (kvs: readonly KeyValue[]) => kvs.map((kv) => text(kv.key));
const vals = (kvs: readonly KeyValue[]) => kvs.map((kv) => text(kv.value));

/** codeOf awaits p and answers the code it rejected with (failing if it resolved or the error is untyped). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(isTabdError(err), `not a tabd error: ${String(err)}`).toBe(true);
    return (err as { code: string }).code;
  }
  throw new Error('expected a rejection');
}

describe('LocalClient KV', { timeout: 30_000 }, () => {
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

  it('puts and gets, with prevKv, versions and revisions', async () => {
    const p1 = await follower.put('kv/a', 'one');
    expect(p1.prevKv).toBeUndefined();
    expect(p1.header.memberId).toBe(follower.server.id);
    expect(p1.header.raftTerm).toBeGreaterThan(0);
    const p2 = await leader.put('kv/a', 'two', { prevKv: true });
    expect(p2.header.revision).toBe(p1.header.revision + 1);
    expect(text(p2.prevKv?.value)).toBe('one');
    const g = await follower.get('kv/a');
    expect(g.count).toBe(1);
    const kv = g.kvs[0]!;
    expect([text(kv.value), kv.version, kv.createRevision, kv.modRevision, kv.lease]).toEqual([
      'two',
      2,
      p1.header.revision,
      p2.header.revision,
      '0',
    ]);
    expect(g.header.revision).toBeGreaterThanOrEqual(p2.header.revision);
    // Binary keys and values round-trip; strings are UTF-8.
    await leader.put(new Uint8Array([0x6b, 0x76, 0x2f, 0xff, 0x00]), new Uint8Array([1, 2, 3]));
    const bin = await leader.get(new Uint8Array([0x6b, 0x76, 0x2f, 0xff, 0x00]));
    expect([...bin.kvs[0]!.value]).toEqual([1, 2, 3]);
    await leader.put('kv/été', '☃');
    expect(text((await leader.get('kv/été')).kvs[0]?.value)).toBe('☃');
    expect(toBytes('é')).toEqual(new Uint8Array([0xc3, 0xa9]));
  });

  it('ignoreValue and ignoreLease keep the current value and lease', async () => {
    const l = await leader.grant(60);
    await leader.put('kv/ign', 'keep', { lease: l.id });
    // ignoreValue keeps the value only: the lease is what the put says (none here), as in etcd.
    await leader.put('kv/ign', '', { ignoreValue: true });
    let kv = (await leader.get('kv/ign')).kvs[0]!;
    expect([text(kv.value), kv.lease]).toEqual(['keep', '0']);
    await leader.put('kv/ign', '', { ignoreValue: true, lease: l.id });
    kv = (await leader.get('kv/ign')).kvs[0]!;
    expect([text(kv.value), kv.lease]).toEqual(['keep', l.id]);
    await leader.put('kv/ign', 'new', { ignoreLease: true });
    kv = (await leader.get('kv/ign')).kvs[0]!;
    expect([text(kv.value), kv.lease]).toEqual(['new', l.id]);
    expect(await codeOf(leader.put('kv/missing', '', { ignoreValue: true }))).toBe('key-not-found');
    expect(await codeOf(leader.put('kv/ign', 'x', { ignoreValue: true }))).toBe('value-provided');
    expect(await codeOf(leader.put('kv/ign', 'x', { ignoreLease: true, lease: l.id }))).toBe(
      'lease-provided',
    );
    await leader.revoke(l.id);
  });

  it('serves every range option', async () => {
    for (const [k, v] of [
      ['r/a', '3'],
      ['r/b', '1'],
      ['r/c', '2'],
      ['r/d', '0'],
    ] as const) {
      await leader.put(k, v);
    }
    await leader.put('r/b', '5'); // r/b: version 2, highest mod revision
    const first = (await leader.get('r/a')).kvs[0]!.createRevision;
    expect(keys((await follower.get('r/', { prefix: true })).kvs)).toEqual([
      'r/a',
      'r/b',
      'r/c',
      'r/d',
    ]);
    expect(keys((await follower.get('r/b', { rangeEnd: 'r/d' })).kvs)).toEqual(['r/b', 'r/c']);
    expect(keys((await follower.get('r/c', { fromKey: true })).kvs).slice(0, 2)).toEqual([
      'r/c',
      'r/d',
    ]);
    const lim = await follower.get('r/', { prefix: true, limit: 2 });
    expect([keys(lim.kvs), lim.more, lim.count]).toEqual([['r/a', 'r/b'], true, 4]);
    expect(
      vals(
        (await follower.get('r/', { prefix: true, sortTarget: 'VALUE', sortOrder: 'DESCEND' })).kvs,
      ),
    ).toEqual(['5', '3', '2', '0']);
    expect(
      keys(
        (
          await follower.get('r/', {
            prefix: true,
            sortTarget: 'MOD',
            sortOrder: 'DESCEND',
            limit: 1,
          })
        ).kvs,
      ),
    ).toEqual(['r/b']);
    expect(
      keys(
        (
          await follower.get('r/', {
            prefix: true,
            sortTarget: 'VERSION',
            sortOrder: 'DESCEND',
            limit: 1,
          })
        ).kvs,
      ),
    ).toEqual(['r/b']);
    expect(
      keys(
        (await follower.get('r/', { prefix: true, sortTarget: 'CREATE', sortOrder: 'ASCEND' })).kvs,
      ),
    ).toEqual(['r/a', 'r/b', 'r/c', 'r/d']);
    const ko = await follower.get('r/', { prefix: true, keysOnly: true });
    expect(vals(ko.kvs)).toEqual(['', '', '', '']);
    const co = await follower.get('r/', { prefix: true, countOnly: true });
    expect([co.kvs.length, co.count]).toEqual([0, 4]);
    // The past: r/b's first value, at the revision of r/d's creation.
    const past = await follower.get('r/b', { revision: first + 3 });
    expect(vals(past.kvs)).toEqual(['1']);
    expect(keys((await follower.get('r/', { prefix: true, revision: first })).kvs)).toEqual([
      'r/a',
    ]);
    expect(
      keys((await follower.get('r/', { prefix: true, minCreateRevision: first + 2 })).kvs),
    ).toEqual(['r/c', 'r/d']);
    expect(
      keys((await follower.get('r/', { prefix: true, maxCreateRevision: first + 1 })).kvs),
    ).toEqual(['r/a', 'r/b']);
    expect(
      keys((await follower.get('r/', { prefix: true, minModRevision: first + 4 })).kvs),
    ).toEqual(['r/b']);
    expect(keys((await follower.get('r/', { prefix: true, maxModRevision: first })).kvs)).toEqual([
      'r/a',
    ]);
    // A serializable read on a follower answers from its replica (here up to date: the follower
    // applied the write before its own put returned).
    await follower.put('r/e', 'ser');
    expect(vals((await follower.get('r/e', { serializable: true })).kvs)).toEqual(['ser']);
    // range() takes etcd's raw request.
    const raw = await follower.range({ key: toBytes('r/a'), rangeEnd: toBytes('r/c'), limit: 1 });
    expect([keys(raw.kvs), raw.more]).toEqual([['r/a'], true]);
    // Contradicting options reject (never throw from a promise API).
    expect(await codeOf(leader.get('r/', { prefix: true, fromKey: true }))).toBe(
      'invalid-argument',
    );
  });

  it('deletes a key, a range and a prefix, with prevKv', async () => {
    for (const k of ['d/a', 'd/b', 'd/c', 'd/d', 'e/x']) await leader.put(k, k);
    const one = await follower.delete('d/a', { prevKv: true });
    expect([one.deleted, keys(one.prevKvs)]).toEqual([1, ['d/a']]);
    const none = await follower.delete('d/a');
    expect([none.deleted, none.header.revision]).toEqual([0, one.header.revision]);
    const r = await follower.delete('d/b', { rangeEnd: 'd/d' });
    expect([r.deleted, r.prevKvs.length]).toEqual([2, 0]);
    const p = await follower.delete('d/', { prefix: true, prevKv: true });
    expect(keys(p.prevKvs)).toEqual(['d/d']);
    expect((await follower.get('e/x')).count).toBe(1);
  });

  it('runs txns built with if/then/else and every compare target', async () => {
    const p = await leader.put('t/k', 'v1');
    const l = await leader.grant(60);
    await leader.put('t/leased', 'x', { lease: l.id });
    const ok = await follower
      .if(
        compare.value('t/k', '=', 'v1'),
        compare.version('t/k', '=', 1),
        compare.createRevision('t/k', '=', p.header.revision),
        compare.modRevision('t/k', '<', p.header.revision + 100),
        compare.lease('t/leased', '=', l.id),
        compare.version('t/none', '=', 0),
      )
      .then(
        op.put('t/k', 'v2', { prevKv: true }),
        op.get('t/k'),
        op.delete('t/leased', { prevKv: true }),
      )
      .else(op.get('t/k'))
      .commit();
    expect(ok.succeeded).toBe(true);
    expect(ok.responses.map((r) => r.type)).toEqual(['put', 'range', 'deleteRange']);
    const put = ok.responses[0]!;
    expect(put.type === 'put' && text(put.response.prevKv?.value)).toBe('v1');
    const got = ok.responses[1]!;
    expect(got.type === 'range' && vals(got.response.kvs)).toEqual(['v2']);
    // One revision for the whole txn (after t/leased's put; a grant takes none).
    expect(ok.header.revision).toBe(p.header.revision + 2);

    const no = await follower
      .if(compare.value('t/k', '!=', 'v2'))
      .then(op.put('t/k', 'never'))
      .else(op.get('t/k'))
      .commit();
    expect(no.succeeded).toBe(false);
    const r0 = no.responses[0]!;
    expect(r0.type === 'range' && vals(r0.response.kvs)).toEqual(['v2']);
    expect(no.header.revision).toBe(ok.header.revision);

    // Compares over a range: every key must pass. A value compare on a missing key fails.
    await leader.put('t/r1', 'same');
    await leader.put('t/r2', 'same');
    expect(
      (await leader.if(compare.value('t/r', '=', 'same', { prefix: true })).commit()).succeeded,
    ).toBe(true);
    expect((await leader.if(compare.value('t/none', '=', '')).commit()).succeeded).toBe(false);

    // Nested txns (etcd 3.4): the inner compares are evaluated before any op runs.
    const nested = await leader
      .if()
      .then(
        op.put('t/n', '1'),
        op.txn(
          [compare.version('t/n', '=', 0)],
          [op.put('t/inner', 'then')],
          [op.put('t/inner', 'else')],
        ),
      )
      .commit();
    const inner = nested.responses[1]!;
    expect(inner.type === 'txn' && inner.response.succeeded).toBe(true);
    expect(inner.type === 'txn' && inner.response.header.revision).toBe(0);
    expect(vals((await leader.get('t/inner')).kvs)).toEqual(['then']);

    // The builder is the same request as a hand-written one.
    const b = leader.if(compare.version('t/k', '>', 0)).then(op.get('t/k'));
    expect(b.request()).toEqual({
      compare: [compare.version('t/k', '>', 0)],
      success: [op.get('t/k')],
      failure: [],
    });
    expect(() => b.then()).toThrow(TypeError);
    expect(() => compare.value('k', '~' as '=', 'v')).toThrow(TypeError);
  });

  it('rejects bad txns with typed errors', async () => {
    const many = Array.from({ length: 129 }, (_, i) => op.get(`t/${i}`));
    expect(await codeOf(leader.txn({ success: many }))).toBe('too-many-ops');
    expect(await codeOf(leader.if().then(op.put('t/d', '1'), op.put('t/d', '2')).commit())).toBe(
      'duplicate-key',
    );
    expect(
      await codeOf(
        leader
          .if()
          .then(op.delete('t/', { prefix: true }), op.put('t/d', '2'))
          .commit(),
      ),
    ).toBe('duplicate-key');
    expect(
      await codeOf(
        leader
          .if()
          .then(op.put('t/d', '1', { lease: '424242' }))
          .commit(),
      ),
    ).toBe('lease-not-found');
  });

  it('compacts; reads below the compact revision fail `compacted`, above the current `future-revision`', async () => {
    const a = await leader.put('c/k', 'old');
    const b = await leader.put('c/k', 'new');
    expect(vals((await follower.get('c/k', { revision: a.header.revision })).kvs)).toEqual(['old']);
    await follower.compact(b.header.revision);
    let err: unknown;
    try {
      await follower.get('c/k', { revision: a.header.revision });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(b.header.revision);
    expect(vals((await follower.get('c/k', { revision: b.header.revision })).kvs)).toEqual(['new']);
    expect(await codeOf(follower.compact(a.header.revision))).toBe('compacted');
    expect(await codeOf(follower.get('c/k', { revision: b.header.revision + 1000 }))).toBe(
      'future-revision',
    );
    expect(await codeOf(follower.compact(b.header.revision + 1000))).toBe('future-revision');
  });

  it('enforces the request size limit and empty keys', async () => {
    const big = new Uint8Array(1_600_000);
    expect(await codeOf(leader.put('big', big))).toBe('value-too-large');
    expect(await codeOf(leader.get(''))).toBe('empty-key');
    expect(await codeOf(leader.put('', 'x'))).toBe('empty-key');
    expect(await codeOf(leader.delete(''))).toBe('empty-key');
    // Bad arguments are typed errors too (no raw throw from a promise API).
    expect(await codeOf(leader.grant(10, 'not-a-number'))).toBe('malformed-request');
    expect(await codeOf(leader.put('k', 'v', { lease: '12x' }))).toBe('malformed-request');
  });

  it('reports status, members and alarms', async () => {
    const s = await follower.status();
    expect(s.memberId).toBe(follower.server.id);
    expect(s.leader).toBe(leader.server.id);
    expect(s.raftTerm).toBeGreaterThan(0);
    expect(s.raftIndex).toBeGreaterThan(0);
    expect(s.raftAppliedIndex).toBeLessThanOrEqual(s.raftIndex);
    expect(s.revision).toBe(s.header.revision);
    expect(s.dbSize).toBeGreaterThan(0);
    expect(s.isLearner).toBe(false);
    expect([s.alarms, s.errors]).toEqual([[], []]);
    const m = await follower.memberList();
    expect(m.members.map((x) => x.id).sort()).toEqual([...c.ids].sort());
    expect(m.members.every((x) => !x.isLearner)).toBe(true);
    expect((await follower.alarmList()).alarms).toEqual([]);
    expect((await follower.alarmDisarm()).alarms).toEqual([]);
  });
});

describe('LocalClient errors from the node', { timeout: 30_000 }, () => {
  it('answers no-quorum on an isolated member; serializable reads still work there', async () => {
    const c = await startCluster({ requestTimeoutTicks: 60 });
    try {
      const li = await c.leaderIndex();
      const fi = (li + 1) % 3;
      const f = c.clients[fi]!;
      await c.clients[li]!.put('q/k', 'before');
      await waitFor(
        async () => (await f.get('q/k', { serializable: true })).count === 1,
        5000,
        'replicated',
      );
      c.net.isolate(c.ids[fi]!);
      await waitFor(
        async () => (await f.status()).errors.length > 0,
        5000,
        'the isolated member notices',
      );
      const err = await f.put('q/k', 'lost').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NodeError);
      expect(['no-quorum', 'timeout']).toContain((err as NodeError).code);
      const rerr = await f.get('q/k').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((rerr as NodeError).code).toBe('no-quorum');
      expect(vals((await f.get('q/k', { serializable: true })).kvs)).toEqual(['before']);
      c.net.heal();
      await waitFor(async () => (await f.status()).errors.length === 0, 5000, 'healed');
      await f.put('q/k', 'after');
    } finally {
      await c.stop();
    }
  });

  it('answers stopped after the node stops, and client-closed after close()', async () => {
    const c = await startCluster({ size: 1 });
    try {
      const cl = c.clients[0]!;
      await cl.put('s/k', 'v');
      const other = new LocalClient(c.servers[0]!);
      await other.close();
      await expect(other.put('s/k', 'v')).rejects.toBeInstanceOf(ClientClosedError);
      await expect(other.get('s/k')).rejects.toMatchObject({ code: 'client-closed' });
      const w = other.watch('s/k');
      expect((await w.done).reason).toBe('error');
      c.servers[0]!.stop();
      await expect(cl.put('s/k', 'v')).rejects.toMatchObject({ code: 'stopped' });
      await expect(cl.get('s/k')).rejects.toMatchObject({ code: 'stopped' });
      const e = await cl.grant(10).catch((x: unknown) => x);
      expect(e instanceof NodeError || e instanceof KvError).toBe(true);
    } finally {
      await c.stop();
    }
  });

  it('raises the NOSPACE alarm past the quota; reads and deletes still work; disarm clears it', async () => {
    const c = await startCluster({ size: 1, kv: { quotaBytes: 8 * 1024 } });
    try {
      const cl = c.clients[0]!;
      let code = '';
      let n = 0;
      for (; n < 100 && code === ''; n++) {
        code = await cl.put(`quota/${n % 4}`, 'x'.repeat(200)).then(
          () => '',
          (e: { code: string }) => e.code,
        );
      }
      expect(code).toBe('quota-exceeded');
      expect((await cl.alarmList()).alarms).toEqual([{ memberId: c.ids[0], alarm: 'NOSPACE' }]);
      expect((await cl.status()).alarms.map((a) => a.alarm)).toEqual(['NOSPACE']);
      expect(await codeOf(cl.put('quota/other', 'y'))).toBe('quota-exceeded');
      expect((await cl.get('quota/', { prefix: true })).count).toBe(4);
      const del = await cl.delete('quota/', { prefix: true });
      expect(del.deleted).toBe(4);
      await cl.compact(del.header.revision);
      expect((await cl.alarmDisarm()).alarms.map((a) => a.alarm)).toEqual(['NOSPACE']);
      expect((await cl.alarmList()).alarms).toEqual([]);
      await cl.put('quota/again', 'fits');
    } finally {
      await c.stop();
    }
  });
});
