// Unit tests of etcd 3.4 semantics, one behaviour each. "etcd:" names where etcd defines it
// (etcdserver/apply.go, api/v3rpc/key.go, mvcc/kvstore_txn.go) or what etcd 3.4.23 answered here.
import { describe, expect, it } from 'vitest';
import { prefixEnd, type RangeRequest, type TxnResponse } from '../../src/kv/index.js';
import { TestStore, b, errCode, ok, s } from './helpers.js';

function range(t: TestStore, req: Partial<RangeRequest> & { key: Uint8Array }) {
  const r = t.kv.range(req);
  if (!r.ok) throw r.error;
  return r.response;
}

describe('revisions', () => {
  it('a new store is at revision 1 and the first write makes revision 2 (etcd: currentRev starts at 1)', () => {
    const t = new TestStore();
    expect(t.kv.revision).toBe(1);
    expect(ok(t.put('a'))).toEqual({ header: { revision: 2 } });
  });

  it('a delete that deletes nothing does not bump the revision (etcd: storeTxnWrite.End with no changes)', () => {
    const t = new TestStore();
    t.put('a');
    expect(ok(t.del('zz'))).toEqual({ header: { revision: 2 }, deleted: 0, prevKvs: [] });
    expect(t.kv.revision).toBe(2);
  });

  it('version counts puts in a generation and restarts after a delete; createRevision follows', () => {
    const t = new TestStore();
    t.put('k', '1');
    t.put('k', '2');
    expect(t.get('k')).toMatchObject({ version: 2, createRevision: 2, modRevision: 3 });
    t.del('k');
    t.put('k', '3');
    expect(t.get('k')).toMatchObject({ version: 1, createRevision: 5, modRevision: 5 });
    expect(t.get('k', 3)).toMatchObject({ version: 2, modRevision: 3 });
    expect(t.get('k', 4)).toBeUndefined();
  });
});

describe('range', () => {
  const seed = (): TestStore => {
    const t = new TestStore();
    for (const k of ['s1', 's2', 's3', 's4']) t.put(k, 'v'); // revs 2..5
    t.put('s2', 'a'); // 6
    t.put('s3', 'z'); // 7
    return t;
  };

  it('limit returns `more` and a count of the whole range (etcd: count before limit)', () => {
    const r = range(seed(), { key: b('s'), rangeEnd: b('t'), limit: 2, keysOnly: true });
    expect(r.kvs.map((kv) => s(kv.key))).toEqual(['s1', 's2']);
    expect(r).toMatchObject({ more: true, count: 4 });
    expect(r.kvs[0]!.value).toEqual(new Uint8Array(0));
  });

  it('count ignores the min/max filters while `more` follows them (etcd 3.4.23 answered count 4, 1 kv, more)', () => {
    const r = range(seed(), { key: b('s'), rangeEnd: b('t'), minModRevision: 5, limit: 1 });
    expect(r.kvs.map((kv) => s(kv.key))).toEqual(['s2']);
    expect(r).toMatchObject({ more: true, count: 4 });
  });

  it('a non-key sort target sorts ascending by default; ties keep key order (etcd 3.4.23: s2,s1,s4,s3)', () => {
    const r = range(seed(), { key: b('s'), rangeEnd: b('t'), sortTarget: 'VALUE' });
    expect(r.kvs.map((kv) => s(kv.key))).toEqual(['s2', 's1', 's4', 's3']);
    const d = range(seed(), {
      key: b('s'),
      rangeEnd: b('t'),
      sortTarget: 'VERSION',
      sortOrder: 'DESCEND',
    });
    expect(d.kvs.map((kv) => s(kv.key))).toEqual(['s2', 's3', 's1', 's4']);
  });

  it('countOnly returns no kvs and no `more`; a negative limit means none', () => {
    expect(
      range(seed(), { key: b('s'), rangeEnd: b('t'), limit: 2, countOnly: true }),
    ).toMatchObject({ kvs: [], more: false, count: 4 });
    expect(range(seed(), { key: b('s'), rangeEnd: b('t'), limit: -1 }).kvs).toHaveLength(4);
  });

  it('rangeEnd "\\0" means every key >= key; rangeEnd <= key is empty; prefixEnd selects a prefix', () => {
    const t = seed();
    t.put('\xff\xff');
    expect(range(t, { key: b('s3'), rangeEnd: new Uint8Array([0]) }).count).toBe(3);
    expect(range(t, { key: b('s3'), rangeEnd: b('a') }).count).toBe(0);
    expect(range(t, { key: b('\xff'), rangeEnd: prefixEnd(b('\xff')) }).count).toBe(1);
    expect(prefixEnd(b('a\xff'))).toEqual(b('b'));
    expect(prefixEnd(b('\xff\xff'))).toEqual(new Uint8Array([0]));
  });

  it('keys order by unsigned bytes (0xff after 0x7f, "a" before "a\\0")', () => {
    const t = new TestStore();
    for (const k of ['\xff', '\x7f', 'a\x00', 'a', '\x00']) t.put(k);
    expect(t.keys('\x00', '\x00').map((k) => [...b(k)])).toEqual([
      [0],
      [0x61],
      [0x61, 0],
      [0x7f],
      [0xff],
    ]);
  });

  it('the header carries the current revision even for a past read (etcd: rr.Rev is curRev)', () => {
    const t = seed();
    expect(range(t, { key: b('s1'), revision: 3 }).header.revision).toBe(7);
  });

  it('errors: empty key, future revision, compacted revision; revision <= 0 reads the current one', () => {
    const t = seed();
    expect(errCode(t.kv.range({ key: new Uint8Array(0) }))).toBe('empty-key');
    expect(errCode(t.kv.range({ key: b('a'), revision: 8 }))).toBe('future-revision');
    expect(errCode(t.kv.range({ key: b('a'), revision: -3 }))).toBe('ok');
    ok(t.compact(5));
    expect(errCode(t.kv.range({ key: b('a'), revision: 4 }))).toBe('compacted');
    expect(errCode(t.kv.range({ key: b('a'), revision: 5 }))).toBe('ok');
    const e = t.kv.range({ key: b('a'), revision: 4 });
    expect(!e.ok && e.error.etcdMessage).toBe(
      'etcdserver: mvcc: required revision has been compacted',
    );
  });
});

describe('put and delete', () => {
  it('prevKv returns the previous version; none for a new key', () => {
    const t = new TestStore();
    expect(ok(t.put('a', '1', { prevKv: true })).prevKv).toBeUndefined();
    expect(ok(t.put('a', '2', { prevKv: true })).prevKv).toMatchObject({
      value: b('1'),
      modRevision: 2,
    });
  });

  it('ignoreValue/ignoreLease keep the old value/lease; on a missing key they fail key-not-found (etcd 3.4.23)', () => {
    const t = new TestStore();
    expect(errCode(t.put('a', '', { ignoreValue: true }))).toBe('key-not-found');
    ok(t.apply({ type: 'leaseGrant', request: { id: '7' as never, ttlSeconds: 10 } }));
    t.put('a', 'old', { lease: '7' as never });
    ok(t.put('a', '', { ignoreValue: true }));
    expect(t.get('a')).toMatchObject({ value: b('old'), lease: '0', version: 2 });
    ok(t.put('a', 'new', { lease: '7' as never }));
    ok(t.put('a', 'newer', { ignoreLease: true }));
    expect(t.get('a')).toMatchObject({ value: b('newer'), lease: '7' });
  });

  it('request checks in etcd order: empty key, value provided, lease provided (etcd: checkPutRequest)', () => {
    const t = new TestStore();
    expect(errCode(t.put('', 'x', { ignoreValue: true }))).toBe('empty-key');
    expect(errCode(t.put('a', 'x', { ignoreValue: true }))).toBe('value-provided');
    expect(errCode(t.put('a', '', { ignoreLease: true, lease: '5' as never }))).toBe(
      'lease-provided',
    );
    expect(errCode(t.put('a', 'x', { lease: '777' as never }))).toBe('lease-not-found');
    expect(errCode(t.del(''))).toBe('empty-key');
  });

  it('a plain put checks its lease before ignoreValue (etcd: applierV3backend.Put)', () => {
    const t = new TestStore();
    expect(errCode(t.put('missing', '', { ignoreValue: true, lease: '9' as never }))).toBe(
      'lease-not-found',
    );
  });

  it('deleteRange deletes in one revision and returns prevKvs in key order', () => {
    const t = new TestStore();
    t.put('b');
    t.put('a');
    t.put('c');
    const r = ok(t.del('a', 'c', true));
    expect(r.deleted).toBe(2);
    expect(r.prevKvs.map((kv) => s(kv.key))).toEqual(['a', 'b']);
    expect(r.header.revision).toBe(5);
    expect(t.keys('a', '\0')).toEqual(['c']);
  });

  it('stored bytes are copies: changing the request afterwards changes nothing', () => {
    const t = new TestStore();
    const key = b('k');
    const value = b('v1');
    t.apply({ type: 'put', request: { key, value } });
    key[0] = 0x7a;
    value[0] = 0x7a;
    expect(t.get('k')?.value).toEqual(b('v1'));
  });
});

describe('txn', () => {
  const txn = (t: TestStore, request: Parameters<TestStore['apply']>[0] & { type: 'txn' }) =>
    t.apply(request);

  it('VALUE compare on a missing key is false even for NOT_EQUAL; other targets compare as zero (etcd: applyCompare)', () => {
    const t = new TestStore();
    const r = ok(
      txn(t, {
        type: 'txn',
        request: {
          compare: [{ key: b('a'), target: 'VALUE', result: 'NOT_EQUAL', value: b('zz') }],
        },
      }),
    ) as TxnResponse;
    expect(r.succeeded).toBe(false);
    const r2 = ok(
      txn(t, {
        type: 'txn',
        request: {
          compare: [
            { key: b('a'), target: 'VERSION', result: 'EQUAL', version: 0 },
            { key: b('a'), target: 'LEASE', result: 'EQUAL', lease: '0' as never },
          ],
          success: [{ type: 'put', request: { key: b('r'), value: b('1') } }],
        },
      }),
    ) as TxnResponse;
    expect(r2).toEqual({
      header: { revision: 2 },
      succeeded: true,
      responses: [{ type: 'put', response: { header: { revision: 2 } } }],
    });
  });

  it('a range compare must hold for every key of the range', () => {
    const t = new TestStore();
    t.put('a1', 'x');
    t.put('a2', 'y');
    const cmp = (value: string) =>
      (
        ok(
          txn(t, {
            type: 'txn',
            request: {
              compare: [
                {
                  key: b('a'),
                  rangeEnd: b('b'),
                  target: 'VALUE',
                  result: 'GREATER',
                  value: b(value),
                },
              ],
            },
          }),
        ) as TxnResponse
      ).succeeded;
    expect(cmp('w')).toBe(true);
    expect(cmp('x')).toBe(false);
  });

  it('lease ids compare as signed int64 beyond 2^53', () => {
    const t = new TestStore();
    ok(
      t.apply({
        type: 'leaseGrant',
        request: { id: '9223372036854775807' as never, ttlSeconds: 10 },
      }),
    );
    t.put('k', 'v', { lease: '9223372036854775807' as never });
    const r = ok(
      txn(t, {
        type: 'txn',
        request: {
          compare: [
            {
              key: b('k'),
              target: 'LEASE',
              result: 'GREATER',
              lease: '9223372036854775806' as never,
            },
          ],
        },
      }),
    ) as TxnResponse;
    expect(r.succeeded).toBe(true);
  });

  it('ops see earlier writes of the txn; one revision for all; nested responses have header 0 (etcd 3.4.23)', () => {
    const t = new TestStore();
    const r = ok(
      txn(t, {
        type: 'txn',
        request: {
          success: [
            {
              type: 'txn',
              request: {
                success: [{ type: 'put', request: { key: b('z'), value: b('2') } }],
                failure: [{ type: 'put', request: { key: b('z'), value: b('3') } }],
              },
            },
            { type: 'range', request: { key: b('z') } },
            { type: 'deleteRange', request: { key: b('nothing') } },
          ],
        },
      }),
    ) as TxnResponse;
    expect(r.header.revision).toBe(2);
    expect(r.responses[0]).toMatchObject({
      type: 'txn',
      response: { header: { revision: 0 }, succeeded: true },
    });
    expect(r.responses[1]).toMatchObject({
      type: 'range',
      response: { header: { revision: 2 }, count: 1 },
    });
    expect(r.responses[2]).toMatchObject({
      type: 'deleteRange',
      response: { header: { revision: 2 }, deleted: 0 },
    });
  });

  it('a delete of nothing before any write answers the old revision (etcd 3.4.23: rev 1 then put rev 2)', () => {
    const t = new TestStore();
    const r = ok(
      txn(t, {
        type: 'txn',
        request: {
          success: [
            { type: 'deleteRange', request: { key: b('a'), rangeEnd: new Uint8Array([0]) } },
            { type: 'put', request: { key: b('b'), value: b('1') } },
          ],
        },
      }),
    ) as TxnResponse;
    expect(r.responses.map((x) => x.response.header.revision)).toEqual([1, 2]);
  });

  it('duplicate keys: put/put, put inside a deleted range, either order, nested too (etcd: checkIntervals)', () => {
    const t = new TestStore();
    const dup = (success: NonNullable<import('../../src/kv/index.js').TxnRequest['success']>) =>
      errCode(txn(t, { type: 'txn', request: { success } }));
    const put = (k: string) => ({ type: 'put' as const, request: { key: b(k), value: b('1') } });
    const del = (k: string, e?: string) => ({
      type: 'deleteRange' as const,
      request: { key: b(k), ...(e === undefined ? {} : { rangeEnd: b(e) }) },
    });
    expect(dup([put('b'), put('b')])).toBe('duplicate-key');
    expect(dup([del('a', 'c'), put('b')])).toBe('duplicate-key');
    expect(dup([put('b'), del('a', 'c')])).toBe('duplicate-key');
    expect(dup([put('c'), del('c')])).toBe('duplicate-key');
    expect(dup([put('c'), del('a', 'c')])).toBe('ok');
    expect(dup([put('x'), { type: 'txn', request: { failure: [put('x')] } }])).toBe(
      'duplicate-key',
    );
    expect(dup([{ type: 'txn', request: { success: [put('z')], failure: [put('z')] } }])).toBe(
      'ok',
    );
    // etcd's interval [key, "\0") is empty: a from-key delete conflicts with nothing.
    expect(dup([del('a', '\0'), put('b')])).toBe('ok');
  });

  it('a from-key delete and a put of the same key in one txn leave both changes in one revision', () => {
    const t = new TestStore();
    t.put('b', 'old');
    const r = ok(
      txn(t, {
        type: 'txn',
        request: {
          success: [
            { type: 'deleteRange', request: { key: b('a'), rangeEnd: new Uint8Array([0]) } },
            { type: 'put', request: { key: b('b'), value: b('new') } },
          ],
        },
      }),
    ) as TxnResponse;
    expect(r.header.revision).toBe(3);
    expect(t.get('b')).toMatchObject({ value: b('new'), version: 1, createRevision: 3 });
    expect(t.get('b', 2)).toMatchObject({ value: b('old') });
    t.kv.checkInvariants();
  });

  it('an empty op is "key not found"; too many ops; nested budget is what the parent leaves (etcd: checkTxnRequest)', () => {
    const t = new TestStore({ maxTxnOps: 3 });
    expect(errCode(txn(t, { type: 'txn', request: { success: [undefined as never] } }))).toBe(
      'key-not-found',
    );
    const put = (k: string) => ({ type: 'put' as const, request: { key: b(k) } });
    expect(
      errCode(txn(t, { type: 'txn', request: { success: [put('a'), put('b'), put('c')] } })),
    ).toBe('ok');
    expect(
      errCode(
        txn(t, { type: 'txn', request: { success: [put('a'), put('b'), put('c'), put('d')] } }),
      ),
    ).toBe('too-many-ops');
    // Parent uses 2 of 3: a nested txn may have 1 op, not 2.
    const nested = (n: number) => ({
      type: 'txn' as const,
      request: { success: Array.from({ length: n }, (_, i) => put(`n${i}`)) },
    });
    expect(errCode(txn(t, { type: 'txn', request: { success: [put('a'), nested(1)] } }))).toBe(
      'ok',
    );
    expect(errCode(txn(t, { type: 'txn', request: { success: [put('a'), nested(2)] } }))).toBe(
      'too-many-ops',
    );
  });

  it('nested compares see the state before the txn (etcd: compareToPath on one read view)', () => {
    const t = new TestStore();
    const r = ok(
      txn(t, {
        type: 'txn',
        request: {
          success: [
            { type: 'put', request: { key: b('x'), value: b('1') } },
            {
              type: 'txn',
              request: {
                compare: [{ key: b('x'), target: 'VERSION', result: 'EQUAL', version: 0 }],
                success: [{ type: 'put', request: { key: b('y'), value: b('saw-nothing') } }],
              },
            },
          ],
        },
      }),
    ) as TxnResponse;
    expect(r.responses[1]).toMatchObject({ response: { succeeded: true } });
    expect(t.get('y')?.value).toEqual(b('saw-nothing'));
  });

  it('range checks: a negative revision inside a txn is compacted, a future one fails (etcd: checkRange)', () => {
    const t = new TestStore();
    t.put('a');
    const rangeAt = (revision: number) =>
      errCode(
        txn(t, {
          type: 'txn',
          request: { success: [{ type: 'range', request: { key: b('a'), revision } }] },
        }),
      );
    expect(rangeAt(-2)).toBe('compacted');
    expect(rangeAt(3)).toBe('future-revision');
    expect(rangeAt(2)).toBe('ok');
  });

  it('a failing check leaves nothing written', () => {
    const t = new TestStore();
    const r = txn(t, {
      type: 'txn',
      request: {
        success: [
          { type: 'put', request: { key: b('a'), value: b('1') } },
          { type: 'put', request: { key: b('b'), lease: '42' as never } },
        ],
      },
    });
    expect(errCode(r)).toBe('lease-not-found');
    expect(t.kv.revision).toBe(1);
    expect(t.get('a')).toBeUndefined();
  });
});

describe('compaction', () => {
  it('compact at or below the compact revision fails compacted, above current fails future (etcd 3.4.23: compact 0 works once)', () => {
    const t = new TestStore();
    expect(errCode(t.compact(0))).toBe('ok');
    expect(errCode(t.compact(0))).toBe('compacted');
    expect(errCode(t.compact(1))).toBe('ok');
    expect(errCode(t.compact(2))).toBe('future-revision');
    expect(errCode(t.compact(-3))).toBe('compacted');
  });

  it('keeps the newest version <= rev of each live key and drops deleted keys', () => {
    const t = new TestStore();
    t.put('a', '1'); // 2
    t.put('a', '2'); // 3
    t.put('b', '1'); // 4
    t.del('b'); // 5
    t.put('a', '3'); // 6
    const before = t.kv.usedBytes;
    ok(t.compact(5));
    expect(t.kv.usedBytes).toBeLessThan(before);
    expect(t.get('a', 5)).toMatchObject({ value: b('2'), modRevision: 3 });
    expect(t.get('a')).toMatchObject({ value: b('3') });
    expect(t.get('b', 5)).toBeUndefined();
    expect(t.kv.status().keys).toBe(1);
    t.kv.checkInvariants();
  });
});
