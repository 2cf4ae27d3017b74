// The CI slice of the simulator: seeded runs of the real core under faults,
// with 3 and with 5 founding voters. Any violation fails the test and prints
// the replay command of each failing seed. The base seeds are fixed, so CI
// runs exactly these seeds every time; soak with other base seeds through the
// CLI (README.md).
import { describe, expect, it } from 'vitest';

import { runBatch, type BatchOptions } from './batch.js';

function expectClean(o: BatchOptions): void {
  const b = runBatch(o);
  const faulted = b.runs - (b.styles['calm'] ?? 0);
  console.log(
    `sim ${o.nodes ?? '3|5'} nodes${o.membership ? ' --membership' : ''}${o.snapshots ? ' --snapshots' : ''}: ${b.runs} runs (${faulted} with faults; styles ${JSON.stringify(b.styles)}), ${b.totals['elections'] ?? 0} elections, ${b.totals['crashes'] ?? 0} crashes, ${b.totals['partitions'] ?? 0} partitions, ${b.totals['snapshotsInstalled'] ?? 0} snapshot installs, ${b.totals['confChangesProposed'] ?? 0} conf changes, ${b.totals['readsAnswered'] ?? 0} reads checked, ${b.failures.length} violations, ${(b.elapsedMs / 1000).toFixed(1)}s`,
  );
  expect(b.failures, b.failures.join('\n')).toEqual([]);
}

describe('simulator: the real core under faults', () => {
  // 2 × 140 + 2 × 140 = 560 runs, of which about 500 have faults (calm runs are the rest).
  it('3 voters, seeds 1..140 of base 101: no violations', () => {
    expectClean({ baseSeed: 101, runs: 140, nodes: 3 });
  });
  it('3 voters, seeds 1..140 of base 102: no violations', () => {
    expectClean({ baseSeed: 102, runs: 140, nodes: 3 });
  });
  it('5 voters, seeds 1..140 of base 103: no violations', () => {
    expectClean({ baseSeed: 103, runs: 140, nodes: 5 });
  });
  it('5 voters, seeds 1..140 of base 104: no violations', () => {
    expectClean({ baseSeed: 104, runs: 140, nodes: 5 });
  });
});
