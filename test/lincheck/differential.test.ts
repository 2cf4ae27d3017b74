// The search against the definition: on tiny histories, randomly damaged or not, the checker
// (with and without revision pruning) must agree with a brute-force enumeration of every order of
// every subset of the unknown operations (testing.ts). This is what shows the pruning rules and
// the checks before the search are sound (never reject a linearizable history) and that the
// search is complete (never accept a non-linearizable one).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkHistory, checkProjection } from './check-history';
import type { HistoryOp, OpResult } from './history';
import { historyArb, type GenShape } from './history-gen';
import { bruteForceLinearizable, verifyWitness } from './testing';

const shape: GenShape = { keys: 2, leases: 1, clients: 4 };

type Damage =
  | { readonly kind: 'none' }
  | { readonly kind: 'revision'; readonly op: number; readonly delta: number }
  | { readonly kind: 'value'; readonly op: number; readonly other: number }
  | { readonly kind: 'flag'; readonly op: number }
  | { readonly kind: 'version'; readonly op: number; readonly delta: number }
  | { readonly kind: 'call'; readonly op: number; readonly shift: number }
  | { readonly kind: 'outcome'; readonly op: number };

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('revision' as const),
    op: fc.nat(),
    delta: fc.constantFrom(-1, 1, 2),
  }),
  fc.record({ kind: fc.constant('value' as const), op: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('flag' as const), op: fc.nat() }),
  fc.record({ kind: fc.constant('version' as const), op: fc.nat(), delta: fc.constantFrom(-1, 1) }),
  fc.record({
    kind: fc.constant('call' as const),
    op: fc.nat(),
    shift: fc.integer({ min: -30, max: 30 }),
  }),
  fc.record({ kind: fc.constant('outcome' as const), op: fc.nat() }),
);

function damage(history: readonly HistoryOp[], d: Damage): HistoryOp[] {
  if (d.kind === 'none' || history.length === 0) return [...history];
  const target = history[d.op % history.length]!;
  const values = history.flatMap((h) => ('value' in h.op ? [h.op.value] : []));
  const change = (h: HistoryOp): HistoryOp => {
    const r = h.result as Record<string, unknown> | null;
    switch (d.kind) {
      case 'revision':
        return r !== null && typeof r['revision'] === 'number'
          ? {
              ...h,
              result: {
                ...r,
                revision: Math.max(0, (r['revision'] as number) + d.delta),
              } as OpResult,
            }
          : h;
      case 'value':
        if (r === null || h.op.type !== 'get') return h;
        return {
          ...h,
          result: { ...r, value: values[d.other % Math.max(1, values.length)] ?? null } as OpResult,
        };
      case 'flag':
        if (r === null) return h;
        if (typeof r['succeeded'] === 'boolean')
          return { ...h, result: { ...r, succeeded: !r['succeeded'] } as OpResult };
        if (typeof r['deleted'] === 'number')
          return { ...h, result: { ...r, deleted: r['deleted'] === 0 ? 1 : 0 } as OpResult };
        return h;
      case 'version':
        return r !== null && typeof r['version'] === 'number'
          ? {
              ...h,
              result: {
                ...r,
                version: Math.max(0, (r['version'] as number) + d.delta),
              } as OpResult,
            }
          : h;
      case 'call': {
        const call = h.call + d.shift;
        return h.return !== null && call > h.return ? h : { ...h, call };
      }
      case 'outcome':
        return h.outcome === 'ok' ? { ...h, outcome: 'unknown', result: null, return: null } : h;
    }
  };
  return history.map((h) => (h === target ? change(h) : h));
}

describe('checker vs brute force on tiny histories', () => {
  it('agree on every verdict, damaged or not', () => {
    const tally = { ok: 0, violation: 0, projectionRefuted: 0 };
    fc.assert(
      fc.property(historyArb(shape, 1, 7, 3), damageArb, damageArb, (g, d1, d2) => {
        const history = damage(damage(g.history, d1), d2);
        const expected = bruteForceLinearizable(history);
        tally[expected ? 'ok' : 'violation']++;
        for (const pruning of [true, false]) {
          const result = checkHistory(history, { pruning });
          expect(result.verdict, `pruning=${pruning}: ${result.explanation}`).toBe(
            expected ? 'ok' : 'violation',
          );
          if (result.verdict === 'ok')
            expect(verifyWitness(history, result.linearization ?? [])).toBeNull();
        }
        // A refuted projection onto one key must mean a violation (projection.ts).
        for (const key of ['ka', 'kb']) {
          const projected = checkProjection(history, key);
          if (projected?.verdict === 'violation') {
            tally.projectionRefuted++;
            expect(expected, `projection onto ${key}: ${projected.explanation}`).toBe(false);
          }
        }
      }),
      // Seeded: the tallies below are statistics of the sample, which an unseeded run can miss.
      { numRuns: 3000, seed: 3000 },
    );
    // Both verdicts must be well represented, or this test shows nothing.
    expect(tally.ok).toBeGreaterThan(600);
    expect(tally.violation).toBeGreaterThan(600);
    expect(tally.projectionRefuted).toBeGreaterThan(300);
  }, 120_000);
});
