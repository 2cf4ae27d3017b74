// The oracle's semantics, one rule per test. These pin down what the checker believes etcd does;
// the differential tests against a real etcd (DESIGN.md §5) are where the beliefs get checked.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  applyOp,
  compareKeys,
  initialState,
  stateEquals,
  stateHash,
  type ModelState,
} from './etcd-model';
import type { KvOp, OpResult } from './history';
import { casMod, casValue, del, get, grant, put, putLease, range, revoke } from './testing';

function run(
  ops: KvOp[],
  options = { initialRevision: 1, leaseRevokeBumpsWhenEmpty: false },
): {
  state: ModelState;
  results: Array<OpResult | string>;
} {
  let state = initialState(options);
  const results: Array<OpResult | string> = [];
  for (const op of ops) {
    const applied = applyOp(state, op, options);
    state = applied.state;
    results.push(applied.response.ok ? applied.response.result : applied.response.error);
  }
  return { state, results };
}

describe('etcd model', () => {
  it('starts at revision 1 and bumps once per put', () => {
    const { results } = run([get('a'), put('a', 'x'), put('a', 'y'), get('a')]);
    expect(results).toEqual([
      { revision: 1, value: null, modRevision: 0, version: 0, createRevision: 0 },
      { revision: 2 },
      { revision: 3 },
      { revision: 3, value: 'y', modRevision: 3, version: 2, createRevision: 2 },
    ]);
  });

  it('bumps on delete only when a key was deleted, and resets version on re-create', () => {
    const { results } = run([put('a', 'x'), del('a'), del('a'), put('a', 'y'), get('a')]);
    expect(results).toEqual([
      { revision: 2 },
      { revision: 3, deleted: 1 },
      { revision: 3, deleted: 0 },
      { revision: 4 },
      { revision: 4, value: 'y', modRevision: 4, version: 1, createRevision: 4 },
    ]);
  });

  it('txn-cas: mod compare on an absent key compares with 0; value compare on an absent key fails', () => {
    const { results } = run([
      casValue('a', '', 'x'),
      casMod('a', 0, 'x'),
      casMod('a', 0, 'y'),
      casMod('a', 2, 'y'),
      casValue('a', 'y', 'z'),
      casValue('a', 'x', 'w'),
    ]);
    expect(results).toEqual([
      { revision: 1, succeeded: false },
      { revision: 2, succeeded: true },
      { revision: 2, succeeded: false },
      { revision: 3, succeeded: true },
      { revision: 4, succeeded: true },
      { revision: 4, succeeded: false },
    ]);
  });

  it('range is [key, rangeEnd) in key order; "\\0" means to the end; "" means one key', () => {
    const { results } = run([
      put('c', '3'),
      put('a', '1'),
      put('b', '2'),
      range('a', 'c'),
      range('b', '\0'),
      range('b', ''),
    ]);
    expect(results.slice(3)).toEqual([
      {
        revision: 4,
        count: 2,
        kvs: [
          { key: 'a', value: '1', modRevision: 3, version: 1, createRevision: 3 },
          { key: 'b', value: '2', modRevision: 4, version: 1, createRevision: 4 },
        ],
      },
      {
        revision: 4,
        count: 2,
        kvs: [
          { key: 'b', value: '2', modRevision: 4, version: 1, createRevision: 4 },
          { key: 'c', value: '3', modRevision: 2, version: 1, createRevision: 2 },
        ],
      },
      {
        revision: 4,
        count: 1,
        kvs: [{ key: 'b', value: '2', modRevision: 4, version: 1, createRevision: 4 }],
      },
    ]);
  });

  it('lease revoke deletes every attached key in one revision', () => {
    const { results, state } = run([
      grant(7),
      putLease('a', 'x', 7),
      putLease('b', 'y', 7),
      put('c', 'z'),
      revoke(7),
    ]);
    expect(results).toEqual([
      { revision: 1 },
      { revision: 2 },
      { revision: 3 },
      { revision: 4 },
      { revision: 5 },
    ]);
    expect([...state.keys.keys()]).toEqual(['c']);
    expect(state.leases.size).toBe(0);
  });

  it('lease revoke with no attached keys does not bump (etcd), unless the option says so', () => {
    const ops = [grant(7), putLease('a', 'x', 7), put('a', 'y'), revoke(7), get('a')];
    expect(run(ops).results.slice(3)).toEqual([
      { revision: 3 },
      { revision: 3, value: 'y', modRevision: 3, version: 2, createRevision: 2 },
    ]);
    expect(run(ops, { initialRevision: 1, leaseRevokeBumpsWhenEmpty: true }).results[3]).toEqual({
      revision: 4,
    });
  });

  it('lease errors change nothing', () => {
    const { results, state } = run([putLease('a', 'x', 9), revoke(9), grant(9), grant(9)]);
    expect(results).toEqual([
      'lease-not-found',
      'lease-not-found',
      { revision: 1 },
      'lease-exists',
    ]);
    expect(state.revision).toBe(1);
    expect(state.keys.size).toBe(0);
  });

  it('orders keys by code point (UTF-8 byte order), not UTF-16 code unit', () => {
    // U+FF61 is one UTF-16 unit (0xFF61); U+1F600 is a surrogate pair starting 0xD83D. In UTF-8,
    // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80); plain `<` says the opposite.
    const bmp = '\uff61';
    const astral = '\u{1f600}';
    expect(bmp < astral).toBe(false);
    expect(compareKeys(bmp, astral)).toBe(-1);
    expect(compareKeys('a', 'ab')).toBe(-1);
    expect(compareKeys('b', 'ab')).toBe(1);
    expect(compareKeys(astral, astral)).toBe(0);
  });

  it('keeps the incremental hash equal to a fresh one, and equal states equal', () => {
    const opArb = fc.oneof(
      fc.record({
        type: fc.constant('put' as const),
        key: fc.constantFrom('a', 'b', 'c'),
        value: fc.constantFrom('x', 'y'),
      }),
      fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ type: fc.constant('lease-grant' as const), lease: fc.constantFrom(1, 2) }),
      fc.record({ type: fc.constant('lease-revoke' as const), lease: fc.constantFrom(1, 2) }),
      fc.record({
        type: fc.constant('put-with-lease' as const),
        key: fc.constantFrom('a', 'b', 'c'),
        value: fc.constantFrom('x', 'y'),
        lease: fc.constantFrom(1, 2),
      }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const { state } = run(ops);
        expect(state.hash).toBe(stateHash(state.revision, state.keys, state.leases));
        const copy: ModelState = {
          ...state,
          keys: new Map(state.keys),
          leases: new Set(state.leases),
        };
        expect(stateEquals(state, copy)).toBe(true);
        const bumped = applyOp(state, put('zz', 'q')).state;
        expect(stateEquals(state, bumped)).toBe(false);
      }),
    );
  });
});
