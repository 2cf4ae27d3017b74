// EtcdClient without an etcd: a fake fetch answers what etcd 3.4.23's JSON gateway answered
// (shapes recorded in ETCD-GATEWAY.md and by hand with curl), so the encoding of requests, the
// decoding of answers, the error mapping and the watch stream parser are checked in the unit
// run. test/etcd runs the same client against a real etcd.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, text, toBase64, toBytes } from '../../src/client/bytes.js';
import { EtcdClient } from '../../src/client/etcd-client.js';
import { etcdError } from '../../src/client/etcd-json.js';
import { isTabdError } from '../../src/client/errors.js';
import { compare, op } from '../../src/client/txn-builder.js';
import type { WatchEvent } from '../../src/kv/index.js';

const b64 = (s: string) => toBase64(toBytes(s));
const HEADER = {
  cluster_id: '14841639068965178418',
  member_id: '10276657743932975437',
  revision: '7',
  raft_term: '3',
};

interface Call {
  url: string;
  body: unknown;
}

/** fakeFetch answers each call with `answer(path, body)`: [status, JSON body or raw text]. */
function fakeFetch(
  answer: (
    path: string,
    body: Record<string, unknown>,
  ) => [number, unknown] | Promise<[number, unknown]>,
) {
  const calls: Call[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const body = JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown>;
    calls.push({ url, body });
    const [status, out] = await answer(new URL(url).pathname, body);
    return new Response(typeof out === 'string' ? out : JSON.stringify(out), { status });
  }) as typeof fetch;
  return { f, calls };
}

describe('base64', { timeout: 30_000 }, () => {
  it('round-trips any bytes and agrees with Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const s = toBase64(b);
        expect(s).toBe(Buffer.from(b).toString('base64'));
        expect(fromBase64(s)).toEqual(b);
      }),
    );
    expect(fromBase64('not base64!')).toBeUndefined();
    expect(fromBase64('abc')).toEqual(new Uint8Array(Buffer.from('abc', 'base64')));
  });
});

describe('EtcdClient over a fake gateway', { timeout: 30_000 }, () => {
  it('encodes requests in the gateway form and decodes answers into the KV types', async () => {
    const { f, calls } = fakeFetch((path) => {
      if (path === '/v3/kv/put')
        return [
          200,
          {
            header: HEADER,
            prev_kv: {
              key: b64('k'),
              create_revision: '2',
              mod_revision: '5',
              version: '3',
              value: b64('old'),
              lease: '7587',
            },
          },
        ];
      if (path === '/v3/kv/range')
        return [
          200,
          {
            header: HEADER,
            kvs: [{ key: b64('k'), create_revision: '2', mod_revision: '6', version: '4' }],
            more: true,
            count: '3',
          },
        ];
      return [404, 'no'];
    });
    const c = new EtcdClient({ endpoint: 'http://127.0.0.1:1/', fetch: f });
    const p = await c.put('k', 'v', { prevKv: true, lease: 7587 });
    expect(calls[0]).toEqual({
      url: 'http://127.0.0.1:1/v3/kv/put',
      body: { key: b64('k'), value: b64('v'), lease: '7587', prev_kv: true },
    });
    expect(p.header).toEqual({
      revision: 7,
      memberId: HEADER.member_id,
      raftTerm: 3,
      clusterId: HEADER.cluster_id,
    });
    expect(p.prevKv).toEqual({
      key: toBytes('k'),
      value: toBytes('old'),
      createRevision: 2,
      modRevision: 5,
      version: 3,
      lease: '7587',
    });
    const g = await c.get('k', {
      prefix: true,
      limit: 1,
      revision: 6,
      sortOrder: 'DESCEND',
      sortTarget: 'MOD',
      keysOnly: true,
      minCreateRevision: 2,
    });
    expect(calls[1]!.body).toEqual({
      key: b64('k'),
      range_end: b64('l'),
      limit: '1',
      revision: '6',
      sort_order: 'DESCEND',
      sort_target: 'MOD',
      keys_only: true,
      min_create_revision: '2',
    });
    // Omitted proto3 defaults come back as the KV defaults.
    expect(g.kvs[0]).toEqual({
      key: toBytes('k'),
      value: new Uint8Array(0),
      createRevision: 2,
      modRevision: 6,
      version: 4,
      lease: '0',
    });
    expect([g.more, g.count]).toEqual([true, 3]);
  });

  it('encodes txns (every compare target, nested ops) and decodes nested answers', async () => {
    const { f, calls } = fakeFetch(() => [
      200,
      {
        header: HEADER,
        responses: [
          { response_range: { header: { revision: '7' } } },
          {
            response_txn: {
              header: {},
              succeeded: true,
              responses: [{ response_put: { header: { revision: '8' } } }],
            },
          },
          { response_delete_range: { header: { revision: '8' }, deleted: '1' } },
        ],
      },
    ]);
    const c = new EtcdClient({ endpoint: 'http://x', fetch: f });
    const r = await c
      .if(
        compare.version('a', '=', 0),
        compare.createRevision('a', '>', 2),
        compare.modRevision('a', '<', 9),
        compare.value('a', '!=', 'v'),
        compare.lease('a', '=', 5),
      )
      .then(op.put('a', 'b'))
      .else(op.get('a'), op.txn([], [op.put('b', 'c')]), op.delete('c', { fromKey: true }))
      .commit();
    expect(calls[0]!.body).toEqual({
      compare: [
        { key: b64('a'), result: 'EQUAL', target: 'VERSION', version: '0' },
        { key: b64('a'), result: 'GREATER', target: 'CREATE', create_revision: '2' },
        { key: b64('a'), result: 'LESS', target: 'MOD', mod_revision: '9' },
        { key: b64('a'), result: 'NOT_EQUAL', target: 'VALUE', value: b64('v') },
        { key: b64('a'), result: 'EQUAL', target: 'LEASE', lease: '5' },
      ],
      success: [{ request_put: { key: b64('a'), value: b64('b') } }],
      failure: [
        { request_range: { key: b64('a') } },
        { request_txn: { success: [{ request_put: { key: b64('b'), value: b64('c') } }] } },
        { request_delete_range: { key: b64('c'), range_end: 'AA==' } },
      ],
    });
    // A txn that took the failure branch has no `succeeded` field.
    expect(r.succeeded).toBe(false);
    expect(r.responses.map((x) => x.type)).toEqual(['range', 'txn', 'deleteRange']);
    const nested = r.responses[1]!;
    expect(
      nested.type === 'txn' && [nested.response.header.revision, nested.response.succeeded],
    ).toEqual([0, true]);
    const del = r.responses[2]!;
    expect(del.type === 'deleteRange' && [del.response.deleted, del.response.prevKvs]).toEqual([
      1,
      [],
    ]);
  });

  it('maps etcd errors to typed errors by message', async () => {
    const answers: Record<string, [number, unknown]> = {
      '/v3/kv/range': [
        400,
        {
          error: 'etcdserver: mvcc: required revision has been compacted',
          message: 'etcdserver: mvcc: required revision has been compacted',
          code: 11,
        },
      ],
      '/v3/kv/put': [
        400,
        {
          error: 'grpc: received message larger than max (2097160 vs. 2097152)',
          message: 'grpc: received message larger than max (2097160 vs. 2097152)',
          code: 8,
        },
      ],
      '/v3/lease/revoke': [
        404,
        {
          error: 'etcdserver: requested lease not found',
          message: 'etcdserver: requested lease not found',
          code: 5,
        },
      ],
      '/v3/kv/txn': [
        400,
        {
          error: 'etcdserver: too many operations in txn request',
          message: 'etcdserver: too many operations in txn request',
          code: 3,
        },
      ],
      '/v3/kv/deleterange': [
        400,
        { error: 'etcdserver: something new', message: 'etcdserver: something new', code: 2 },
      ],
    };
    const { f } = fakeFetch((path) => answers[path] ?? [500, 'not json']);
    const c = new EtcdClient({ endpoint: 'http://x', fetch: f });
    await expect(c.get('k', { revision: 1 })).rejects.toMatchObject({ code: 'compacted' });
    await expect(c.put('k', 'v')).rejects.toMatchObject({ code: 'value-too-large' });
    await expect(c.revoke(5)).rejects.toMatchObject({ code: 'lease-not-found', leaseId: '5' });
    await expect(c.txn({})).rejects.toMatchObject({ code: 'too-many-ops' });
    await expect(c.delete('k')).rejects.toMatchObject({
      code: 'etcd-error',
      grpcCode: 2,
      etcdMessage: 'etcdserver: something new',
    });
    await expect(c.compact(3)).rejects.toMatchObject({ code: 'internal' });
    const table: [string, string][] = [
      ['etcdserver: mvcc: required revision is a future revision', 'future-revision'],
      ['etcdserver: request is too large', 'value-too-large'],
      ['etcdserver: duplicate key given in txn request', 'duplicate-key'],
      ['etcdserver: key not found', 'key-not-found'],
      ['etcdserver: value is provided', 'value-provided'],
      ['etcdserver: lease is provided', 'lease-provided'],
      ['etcdserver: lease already exists', 'lease-exists'],
      ['etcdserver: key is not provided', 'empty-key'],
      ['etcdserver: mvcc: database space exceeded', 'quota-exceeded'],
      ['etcdserver: no leader', 'no-quorum'],
      ['etcdserver: request timed out', 'timeout'],
      ['etcdserver: leader changed', 'proposal-dropped'],
      ['etcdserver: server stopped', 'stopped'],
    ];
    for (const [msg, code] of table) expect([msg, etcdError(3, msg).code]).toEqual([msg, code]);
  });

  it('answers unavailable when the server cannot be reached, timeout when it does not answer, client-closed after close', async () => {
    const down = new EtcdClient({
      endpoint: 'http://x',
      fetch: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch,
    });
    const e = await down.get('k').catch((x: unknown) => x);
    expect(isTabdError(e) && [e.code, (e as { unknownOutcome?: boolean }).unknownOutcome]).toEqual([
      'unavailable',
      true,
    ]);
    const hang = (_: unknown, init?: RequestInit) =>
      new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () =>
          reject(new DOMException('aborted', 'AbortError')),
        ),
      );
    const slow = new EtcdClient({
      endpoint: 'http://x',
      requestTimeoutMs: 30,
      fetch: hang as typeof fetch,
    });
    await expect(slow.put('k', 'v')).rejects.toMatchObject({
      code: 'timeout',
      unknownOutcome: true,
    });
    const closing = new EtcdClient({ endpoint: 'http://x', fetch: hang as typeof fetch });
    const pending = closing.get('k');
    await closing.close();
    await expect(pending).rejects.toMatchObject({ code: 'client-closed' });
    await expect(closing.get('k')).rejects.toMatchObject({ code: 'client-closed' });
  });

  it('decodes lease answers (ID/TTL names) and turns a keepalive TTL of 0 into lease-not-found', async () => {
    const { f, calls } = fakeFetch((path, body) => {
      if (path === '/v3/lease/grant')
        return [200, { header: HEADER, ID: String(body['ID'] ?? '694d77aa9e38260f'), TTL: '10' }];
      if (path === '/v3/lease/keepalive')
        return body['ID'] === '5'
          ? [200, `{"result":{"header":${JSON.stringify(HEADER)},"ID":"5","TTL":"10"}}\n`]
          : [200, `{"result":{"header":${JSON.stringify(HEADER)},"ID":"6"}}\n`];
      if (path === '/v3/lease/timetolive')
        return [200, { header: HEADER, ID: '5', TTL: '9', grantedTTL: '10', keys: [b64('k1')] }];
      if (path === '/v3/lease/leases')
        return [200, { header: HEADER, leases: [{ ID: '5' }, { ID: '9223372036854775807' }] }];
      return [404, 'no'];
    });
    const c = new EtcdClient({ endpoint: 'http://x', fetch: f });
    expect((await c.grant(10, 5)).id).toBe('5');
    expect(calls[0]!.body).toEqual({ TTL: '10', ID: '5' });
    expect((await c.keepAliveOnce(5)).ttlSeconds).toBe(10);
    await expect(c.keepAliveOnce(6)).rejects.toMatchObject({ code: 'lease-not-found' });
    const t = await c.timeToLive(5, { keys: true });
    expect([t.ttlSeconds, t.grantedTtlSeconds, t.keys.map(text)]).toEqual([9, 10, ['k1']]);
    // Lease ids use all 63 bits: they stay decimal strings.
    expect((await c.leases()).leases.map((l) => l.id)).toEqual(['5', '9223372036854775807']);
  });

  it('parses a watch stream split at arbitrary points, and maps a compaction cancel', async () => {
    const lines = [
      { result: { header: HEADER, created: true } },
      {
        result: {
          header: HEADER,
          events: [
            {
              kv: {
                key: b64('a'),
                create_revision: '8',
                mod_revision: '8',
                version: '1',
                value: b64('1'),
              },
            },
          ],
        },
      },
      {
        result: {
          header: HEADER,
          events: [
            {
              type: 'DELETE',
              kv: { key: b64('a'), mod_revision: '9' },
              prev_kv: {
                key: b64('a'),
                create_revision: '8',
                mod_revision: '8',
                version: '1',
                value: b64('1'),
              },
            },
          ],
        },
      },
      {
        result: {
          header: { ...HEADER, revision: undefined },
          canceled: true,
          compact_revision: '12',
        },
      },
    ];
    const raw = new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    let sentBody: unknown;
    const f = (async (_: unknown, init?: RequestInit) => {
      sentBody = JSON.parse(String(init?.body));
      const stream = new ReadableStream<Uint8Array>({
        async start(ctrl) {
          // Chunks of 7 bytes: lines and even UTF-8 sequences are split.
          for (let i = 0; i < raw.length; i += 7) {
            ctrl.enqueue(raw.slice(i, i + 7));
            await new Promise((r) => setTimeout(r, 0));
          }
          ctrl.close();
        },
      });
      return new Response(stream, { status: 200 });
    }) as typeof fetch;
    const c = new EtcdClient({ endpoint: 'http://x', fetch: f });
    const w = c.watch('a', {
      prefix: true,
      startRevision: 8,
      prevKv: true,
      noPut: false,
      noDelete: true,
    });
    const got: WatchEvent[] = [];
    let thrown: unknown;
    try {
      for await (const r of w) got.push(...r.events);
    } catch (err) {
      thrown = err;
    }
    expect(sentBody).toEqual({
      create_request: {
        key: b64('a'),
        range_end: b64('b'),
        start_revision: '8',
        prev_kv: true,
        filters: ['NODELETE'],
      },
    });
    expect(
      got.map((e) => [e.type, text(e.kv.key), e.kv.modRevision, e.prevKv?.modRevision]),
    ).toEqual([
      ['PUT', 'a', 8, undefined],
      ['DELETE', 'a', 9, 8],
    ]);
    expect((thrown as { code?: string; compactRevision?: number }).code).toBe('compacted');
    expect((thrown as { compactRevision?: number }).compactRevision).toBe(12);
    expect(w.lastRevision).toBe(9);
    await expect(w.requestProgress()).rejects.toMatchObject({ code: 'watch-canceled' });
    const w2 = c.watch('b');
    await expect(w2.requestProgress()).rejects.toMatchObject({ code: 'unsupported' });
    await c.close();
  });
});
