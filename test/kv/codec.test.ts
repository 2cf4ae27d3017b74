// The command codec (Raft entry data) and the snapshot format: round trips, fuzzing (random or
// mutated bytes fail only with the typed error), and the size limit at its boundary.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KvStore,
  MalformedRequestError,
  SnapshotCorruptError,
  checkRequestSize,
  decodeCommand,
  encodeCommand,
  encodeProposal,
  normalizeCommand,
  type KvCommand,
} from '../../src/kv/index.js';
import { commandArb } from './arbitraries.js';
import { b } from './helpers.js';

const fullCommandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  commandArb.map(normalizeCommand),
  fc
    .record({ revision: fc.maxSafeInteger(), physical: fc.boolean() })
    .map((request): KvCommand => ({ type: 'compact', request })),
  fc
    .array(
      fc.record({
        id: fc
          .bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
          .map((x) => x.toString() as never),
        remainingTtlSeconds: fc.integer(),
      }),
    )
    .map((checkpoints): KvCommand => ({ type: 'leaseCheckpoint', request: { checkpoints } })),
  fc.constant<KvCommand>({ type: 'alarmDisarm', request: { alarm: 'NOSPACE' } }),
  fc
    .record({ key: fc.uint8Array({ maxLength: 300 }), value: fc.uint8Array({ maxLength: 300 }) })
    .map((r) => normalizeCommand({ type: 'put', request: r })),
);

describe('command codec', () => {
  it('decode(encode(c)) equals c, and encoding is canonical', () => {
    fc.assert(
      fc.property(fullCommandArb, (cmd) => {
        const bytes = encodeCommand(cmd);
        expect(bytes[0]).toBe(1);
        const back = decodeCommand(bytes);
        expect(back).toEqual(cmd);
        expect(encodeCommand(back)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes decode or fail with MalformedRequestError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const cmd = decodeCommand(bytes);
          expect(encodeCommand(cmd)).toEqual(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedRequestError);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated valid encodings decode to something re-encodable or fail typed', () => {
    fc.assert(
      fc.property(
        fullCommandArb,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (cmd, at, byte, truncate) => {
          const bytes = encodeCommand(cmd).slice();
          const i = at % bytes.length;
          const input = truncate ? bytes.subarray(0, i) : (bytes.set([byte], i), bytes);
          try {
            expect(encodeCommand(decodeCommand(input))).toEqual(input);
          } catch (e) {
            expect(e).toBeInstanceOf(MalformedRequestError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('rejects a wrong version, trailing bytes, non-minimal varints, deep nesting and bad shapes', () => {
    const good = encodeCommand({ type: 'put', request: { key: b('k') } });
    const bad = (u: Uint8Array) => expect(() => decodeCommand(u)).toThrow(MalformedRequestError);
    bad(Uint8Array.from([2, ...good.subarray(1)]));
    bad(Uint8Array.from([...good, 0]));
    bad(Uint8Array.from([1, 1, 0, 0x81, 0x00, 0, 0])); // key length 1 spelled in two bytes
    let txn: import('../../src/kv/index.js').TxnRequest = {};
    for (let i = 0; i < 300; i++) txn = { success: [{ type: 'txn', request: txn }] };
    expect(() => encodeCommand({ type: 'txn', request: txn })).toThrow(MalformedRequestError);
    expect(() => encodeCommand({ type: 'put', request: { key: 'k' as never } })).toThrow(
      MalformedRequestError,
    );
    expect(() =>
      encodeCommand({ type: 'put', request: { key: b('k'), lease: '007' as never } }),
    ).toThrow(MalformedRequestError);
    expect(() => encodeCommand({ type: 'compact', request: { revision: 1.5 } })).toThrow(
      MalformedRequestError,
    );
  });

  it('the size limit refuses exactly maxRequestBytes + 1 and accepts maxRequestBytes', () => {
    const max = 1_572_864;
    const overhead =
      encodeCommand({ type: 'put', request: { key: b('k'), value: new Uint8Array(1000) } }).length -
      1000;
    // The value length varint grows from 2 to 3 bytes past 16383: overhead + 1 here.
    const atMax = {
      type: 'put' as const,
      request: { key: b('k'), value: new Uint8Array(max - overhead - 1) },
    };
    expect(encodeCommand(atMax).length).toBe(max);
    expect(encodeProposal(atMax, { maxRequestBytes: max }).ok).toBe(true);
    const over = {
      type: 'put' as const,
      request: { key: b('k'), value: new Uint8Array(max - overhead) },
    };
    const r = encodeProposal(over, { maxRequestBytes: max });
    expect(!r.ok && r.error.code).toBe('value-too-large');
    expect(!r.ok && r.error.etcdMessage).toBe('etcdserver: request is too large');
    expect(checkRequestSize(new Uint8Array(10), { maxRequestBytes: 10 })).toBeNull();
    expect(checkRequestSize(new Uint8Array(11), { maxRequestBytes: 10 })?.code).toBe(
      'value-too-large',
    );
  });
});

describe('snapshot format', () => {
  const store = (): KvStore => {
    const s = new KvStore();
    let i = 0;
    s.apply({ type: 'leaseGrant', request: { id: '5' as never, ttlSeconds: 10 } }, { index: ++i });
    s.apply(
      { type: 'put', request: { key: b('a'), value: b('1'), lease: '5' as never } },
      { index: ++i },
    );
    s.apply({ type: 'put', request: { key: b('b'), value: b('2') } }, { index: ++i });
    s.apply(
      { type: 'put', request: { key: b('a'), value: b('3'), lease: '5' as never } },
      { index: ++i },
    );
    s.apply({ type: 'deleteRange', request: { key: b('b') } }, { index: ++i });
    s.apply({ type: 'compact', request: { revision: 4 } }, { index: ++i });
    s.apply({ type: 'put', request: { key: b('c'), value: b('4') } }, { index: i + 1 });
    return s;
  };

  it('restores history, compaction point, leases, applied index', () => {
    const s = store();
    const r = KvStore.restore(s.snapshot());
    expect(r.status()).toEqual(s.status());
    expect(r.appliedIndex).toBe(7);
    expect(r.range({ key: b('a'), revision: 4 })).toEqual(s.range({ key: b('a'), revision: 4 }));
    expect(r.leaseTimeToLive({ id: '5' as never, keys: true })).toEqual(
      s.leaseTimeToLive({ id: '5' as never, keys: true }),
    );
  });

  it('every truncation and every single-byte change is restored equivalently or rejected with SnapshotCorruptError', () => {
    const bytes = store().snapshot();
    for (let i = 0; i < bytes.length; i++) {
      expect(() => KvStore.restore(bytes.subarray(0, i))).toThrow(SnapshotCorruptError);
      for (const delta of [1, 0x80, 0xff]) {
        const m = bytes.slice();
        m[i] = (m[i]! + delta) & 0xff;
        try {
          const r = KvStore.restore(m);
          r.checkInvariants();
          expect(r.snapshot()).toEqual(m);
        } catch (e) {
          expect(e).toBeInstanceOf(SnapshotCorruptError);
        }
      }
    }
  });
});
