// The CI slice with membership changes and snapshots: learners join with
// empty storage and catch up by log or snapshot, voters are promoted,
// removed and replaced through joint consensus, leadership moves, and
// partitions strike right after reconfigurations. No violation allowed.
import { describe, expect, it } from 'vitest';

import { runBatch } from './batch.js';

describe('simulator: --membership --snapshots', () => {
  for (const base of [201, 202]) {
    it(`150 runs of base seed ${base}: no violations`, () => {
      const b = runBatch({ baseSeed: base, runs: 150, membership: true, snapshots: true });
      console.log(
        `sim --membership --snapshots base ${base}: ${b.runs} runs (styles ${JSON.stringify(b.styles)}), ${b.totals['confChangesProposed'] ?? 0} conf changes, ${b.totals['snapshotsInstalled'] ?? 0} snapshot installs, ${b.totals['snapshotsSent'] ?? 0} snapshots sent, ${b.totals['crashes'] ?? 0} crashes, ${b.failures.length} violations, ${(b.elapsedMs / 1000).toFixed(1)}s`,
      );
      expect(b.totals['confChangesProposed'] ?? 0).toBeGreaterThan(b.runs);
      expect(b.totals['snapshotsInstalled'] ?? 0).toBeGreaterThan(0);
      expect(b.failures, b.failures.join('\n')).toEqual([]);
    });
  }
});
