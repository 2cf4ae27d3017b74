// fast-check generators of KV commands and reads over a small key space (so that ranges,
// duplicates, compares and byte order edge cases — 0x00, 0xff, prefixes — collide often).
import fc from 'fast-check';
import type {
  Compare,
  KvCommand,
  LeaseId,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../../src/kv/index.js';
import { b } from './helpers.js';

export const KEYS = ['a', 'ab', 'abc', 'b', 'ba', 'c', '\x00', '\xff', 'a\x00', 'b\xff'];
export const ENDS = ['', '\0', 'b', 'c', 'ab', 'abd', '\xff\xff', 'a', 'ba'];
export const LEASES = ['1', '2', '-5', '9223372036854775807'] as LeaseId[];

const rare = fc.oneof(
  { weight: 5, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
export const keyArb = fc.constantFrom(...KEYS).map(b);
const endArb = fc.option(fc.constantFrom(...ENDS).map(b), { nil: undefined });
const valueArb = fc.constantFrom('', 'x', 'y', 'z', 'xy', '\x00\x01', '\xff').map(b);
const leaseArb = fc.constantFrom('0', '0', '0', ...LEASES) as fc.Arbitrary<LeaseId>;
const revArb = fc.integer({ min: -1, max: 30 });

export const rangeArb: fc.Arbitrary<RangeRequest> = fc.record({
  key: keyArb,
  rangeEnd: endArb,
  limit: fc.constantFrom(0, 0, 1, 2, 3, -1),
  revision: fc.oneof(fc.constant(0), revArb),
  sortOrder: fc.constantFrom('NONE', 'NONE', 'ASCEND', 'DESCEND') as fc.Arbitrary<
    RangeRequest['sortOrder']
  >,
  sortTarget: fc.constantFrom('KEY', 'KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE') as fc.Arbitrary<
    RangeRequest['sortTarget']
  >,
  keysOnly: rare,
  countOnly: rare,
  minModRevision: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: revArb },
  ),
  maxModRevision: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: revArb },
  ),
  minCreateRevision: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: revArb },
  ),
  maxCreateRevision: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: revArb },
  ),
});

const putArb = fc.record({
  key: keyArb,
  value: valueArb,
  lease: leaseArb,
  prevKv: fc.boolean(),
  ignoreValue: rare,
  ignoreLease: rare,
});
const delArb = fc.record({ key: keyArb, rangeEnd: endArb, prevKv: fc.boolean() });

const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({
    key: keyArb,
    rangeEnd: endArb,
    result: fc.constantFrom('EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'),
    target: fc.constant('VERSION'),
    version: fc.integer({ min: 0, max: 4 }),
  }),
  fc.record({
    key: keyArb,
    rangeEnd: endArb,
    result: fc.constantFrom('EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'),
    target: fc.constant('CREATE'),
    createRevision: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({
    key: keyArb,
    rangeEnd: endArb,
    result: fc.constantFrom('EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'),
    target: fc.constant('MOD'),
    modRevision: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({
    key: keyArb,
    rangeEnd: endArb,
    result: fc.constantFrom('EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'),
    target: fc.constant('VALUE'),
    value: valueArb,
  }),
  fc.record({
    key: keyArb,
    rangeEnd: endArb,
    result: fc.constantFrom('EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'),
    target: fc.constant('LEASE'),
    lease: leaseArb,
  }),
) as fc.Arbitrary<Compare>;

const txnArb: fc.Arbitrary<TxnRequest> = fc.letrec<{ txn: TxnRequest; op: RequestOp }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ type: fc.constant('range' as const), request: rangeArb }),
    fc.record({ type: fc.constant('put' as const), request: putArb }),
    fc.record({ type: fc.constant('deleteRange' as const), request: delArb }),
    fc.record({ type: fc.constant('txn' as const), request: tie('txn') }),
  ) as fc.Arbitrary<RequestOp>,
  txn: fc.record({
    compare: fc.array(compareArb, { maxLength: 2 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
})).txn;

export const commandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  { weight: 6, arbitrary: putArb.map((request) => ({ type: 'put' as const, request })) },
  { weight: 3, arbitrary: delArb.map((request) => ({ type: 'deleteRange' as const, request })) },
  { weight: 4, arbitrary: txnArb.map((request) => ({ type: 'txn' as const, request })) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: -1, max: 25 })
      .map((revision) => ({ type: 'compact' as const, request: { revision } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ id: fc.constantFrom(...LEASES), ttlSeconds: fc.integer({ min: -2, max: 100 }) })
      .map((request) => ({ type: 'leaseGrant' as const, request })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...LEASES)
      .map((id) => ({ type: 'leaseRevoke' as const, request: { id } })),
  },
);
