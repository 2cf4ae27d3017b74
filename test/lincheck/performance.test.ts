// Performance: 2,000-operation histories from 8 concurrent clients, the size the simulator
// produces. Times are printed, not asserted tightly (this machine is shared); the step counts are
// deterministic and are what to compare between versions of the checker.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkHistory, type CheckResult } from './check-history';
import type { GetResult, HistoryOp } from './history';
import { buildHistory, stepArb, type GenShape } from './history-gen';
import { verifyWitness } from './testing';

const operations = 2000;

function generate(shape: GenShape, unknownWeight: number, seed: number): HistoryOp[] {
  const steps = fc.sample(stepArb(shape, unknownWeight), { numRuns: operations, seed });
  return buildHistory(steps, shape).history;
}

function timed(label: string, history: readonly HistoryOp[]): CheckResult {
  const start = performance.now();
  const result = checkHistory(history);
  const ms = performance.now() - start;
  const s = result.stats;
  console.log(
    `lincheck ${label}: ${result.verdict} in ${ms.toFixed(0)} ms, ${result.steps} steps ` +
      `(${s.total} ops: ${s.required} ok, ${s.unknownWrites} unknown writes, ${s.droppedFailed} failed)`,
  );
  // Loose: only catches a search that has gone exponential.
  expect(ms).toBeLessThan(30_000);
  return result;
}

describe('performance on 2,000 operations, 8 clients', () => {
  it('typical: 10 keys, 3 leases, ~10% unknown outcomes', () => {
    const history = generate({ keys: 10, leases: 3, clients: 8 }, 1, 42);
    const result = timed('typical', history);
    expect(result.verdict).toBe('ok');
    expect(verifyWitness(history, result.linearization ?? [])).toBeNull();
  }, 60_000);

  it('hard: 3 keys, ~25% unknown outcomes', () => {
    const history = generate({ keys: 3, leases: 3, clients: 8 }, 3, 7);
    const result = timed('hard', history);
    expect(result.verdict).toBe('ok');
    expect(verifyWitness(history, result.linearization ?? [])).toBeNull();
  }, 60_000);

  it('a stale read near the end is found', () => {
    const history = generate({ keys: 10, leases: 3, clients: 8 }, 1, 42);
    // The last ok read of a key that an ok put overwrote before the read was called: make it
    // return the value from before that put (see property.test.ts for why this is never
    // linearizable).
    const reads = history.filter(
      (h) => h.op.type === 'get' && h.outcome === 'ok' && h.op.serializable !== true,
    );
    let mutated: HistoryOp[] | null = null;
    for (const read of reads.reverse()) {
      const key = (read.op as { key: string }).key;
      const puts = history.filter(
        (h) =>
          h.op.type === 'put' &&
          h.outcome === 'ok' &&
          h.op.key === key &&
          h.return !== null &&
          h.return < read.call,
      );
      const last = puts[puts.length - 1];
      const before = puts[puts.length - 2];
      if (last === undefined || before === undefined) continue;
      // Only when nothing else wrote the key between the two puts, so `before` is the old record.
      const between = history.filter(
        (h) =>
          h.outcome !== 'fail' &&
          'key' in h.op &&
          h.op.key === key &&
          h.id > before.id &&
          h.id < last.id,
      );
      if (between.some((h) => h.op.type !== 'get' && h.op.type !== 'range')) continue;
      const old = (before.result as { revision: number }).revision;
      const result = read.result as GetResult;
      const stale: GetResult = {
        revision: result.revision,
        value: (before.op as { value: string }).value,
        modRevision: old,
        version: 1,
      };
      mutated = history.map((h) => (h === read ? { ...h, result: stale } : h));
      break;
    }
    expect(mutated).not.toBeNull();
    const result = timed('stale read', mutated!);
    expect(result.verdict).toBe('violation');
  }, 60_000);
});
