// The projection onto one key (projection.ts): what it keeps and abstracts, and the claim it
// rests on: a linearizable history has linearizable projections, so a refuted projection proves
// a violation. The differential test also compares refuted projections with brute force.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkHistory, checkProjection } from './check-history';
import { defaultModelOptions } from './etcd-model';
import type { GetResult, HistoryOp } from './history';
import { buildHistory, historyArb, stepArb } from './history-gen';
import { projectOnKey } from './projection';
import {
  HistoryBuilder,
  absent,
  del,
  get,
  grant,
  kv,
  kvs,
  put,
  putLease,
  range,
  rev,
  revoke,
  seen,
} from './testing';

describe('projectOnKey', () => {
  it('keeps operations on the key, turns writes elsewhere into bumps, ranges into gets', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('b', 'y'), rev(3));
    h.ok(2, 4, 5, get('b'), seen(3, 'y', 3, 1));
    h.ok(2, 6, 7, range('a', '\0'), kvs(3, kv('a', 'x', 2, 1), kv('b', 'y', 3, 1)));
    h.unknown(3, 8, del('b'));
    h.ok(3, 9, 10, del('c'), { revision: 3, deleted: 0 });
    h.ok(4, 11, 12, grant(5), {});
    h.ok(4, 13, 14, revoke(5), rev(3));
    h.unknown(4, 15, revoke(6));
    const p = projectOnKey(h.ops, 'a', defaultModelOptions)!;
    // Lease 5 and 6 never hold "a": their grant is dropped, their revokes are plain bumps.
    expect(p.map((o) => [o.id, o.op.type, o.outcome])).toEqual([
      [1, 'put', 'ok'],
      [2, 'bump', 'ok'],
      [4, 'get', 'ok'],
      [5, 'bump', 'unknown'],
      [8, 'bump', 'ok'],
      [9, 'bump', 'unknown'],
    ]);
    expect(p[2]!.result).toEqual({ revision: 3, value: 'x', modRevision: 2, version: 1 });
    expect(p[4]!.op).toEqual({ type: 'bump', maybeTo: 3, of: revoke(5) });
    expect(p[5]!.op).toEqual({ type: 'bump', maybeTo: null, of: revoke(6) });
  });

  it("keeps the key's leases: grants, and revokes that may delete it", () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, grant(5), {});
    h.ok(1, 2, 3, putLease('a', 'x', 5), rev(2));
    h.ok(1, 4, 5, revoke(5), rev(3));
    h.unknown(2, 6, revoke(5));
    const p = projectOnKey(h.ops, 'a', defaultModelOptions)!;
    expect(p.map((o) => [o.id, o.op.type, o.outcome])).toEqual([
      [1, 'lease-grant', 'ok'],
      [2, 'put-with-lease', 'ok'],
      [3, 'bump', 'ok'],
      [4, 'lease-revoke', 'unknown'],
      [4, 'bump', 'unknown'],
    ]);
    expect(p[2]!.op).toEqual({ type: 'bump', maybeTo: 3, revokes: 5, of: revoke(5) });
    expect(p[4]!.op).toEqual({ type: 'bump', maybeTo: null, revokes: 5, of: revoke(5) });
  });

  it('gives up on keys covered by a range delete', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, { type: 'delete', key: 'a', rangeEnd: 'c' }, { revision: 1, deleted: 0 });
    expect(projectOnKey(h.ops, 'b', defaultModelOptions)).toBeNull();
    expect(projectOnKey(h.ops, 'c', defaultModelOptions)).not.toBeNull();
  });

  it('refutes a lost write that involves a lease', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, grant(5), {});
    h.ok(1, 2, 3, putLease('a', 'x', 5), rev(2));
    h.ok(2, 4, 5, put('b', 'y'), rev(3));
    h.unknown(3, 4, revoke(7)); // another lease: cannot delete a
    h.ok(2, 6, 7, get('a'), absent(4));
    expect(checkProjection(h.ops, 'a')?.verdict).toBe('violation');
    expect(checkHistory(h.ops).verdict).toBe('violation');
  });

  it('projections of linearizable histories are linearizable', () => {
    const shape = { keys: 3, leases: 2, clients: 6 };
    fc.assert(
      fc.property(historyArb(shape, 5, 60, 3), (g) => {
        for (let k = 0; k < shape.keys; k++) {
          const key = `k${String.fromCharCode(97 + k)}`;
          const result = checkProjection(g.history, key);
          if (result !== null) expect(result.verdict, result.explanation).toBe('ok');
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('proves a violation the full search cannot finish: a lost write in 2,000 operations', () => {
    // Found by trying seeds: with a 200k budget the full search runs out on this one, and the
    // projection onto the read's key does not. (Such cases are common but not universal: with
    // many unknown writes, proving a violation late in a history can exceed any budget; the
    // verdict is then "unknown", never a wrong one.)
    const shape = { keys: 30, leases: 3, clients: 8, leasedKeys: 3 };
    const steps = fc.sample(stepArb(shape, 1), { numRuns: 2000, seed: 5 });
    const history = buildHistory(steps, shape).history;
    const reads = history.filter(
      (h) =>
        h.op.type === 'get' &&
        h.outcome === 'ok' &&
        h.op.serializable !== true &&
        (h.result as GetResult).value !== null,
    );
    const read = reads[Math.floor(reads.length * 0.9)]!;
    const lost: GetResult = absent((read.result as GetResult).revision);
    const mutated: HistoryOp[] = history.map((h) => (h === read ? { ...h, result: lost } : h));
    const start = performance.now();
    const result = checkHistory(mutated, { timeoutSteps: 200_000 });
    const ms = (performance.now() - start).toFixed(0);
    console.log(`lincheck lost write at 90%: ${result.verdict} in ${ms} ms, ${result.steps} steps`);
    expect(result.verdict).toBe('violation');
    expect(result.explanation).toContain('proven on the history projected onto key');
    expect(result.steps).toBeGreaterThan(200_000); // the full search did run out first
  }, 120_000);
});
