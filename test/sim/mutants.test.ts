// The checkers must catch broken Rafts. Each mutant removes one safety rule
// (mutants.ts); over 200 seeded runs the simulator must report violations,
// and of the kind that rule protects. A simulator whose checkers never fire
// would pass the other slices vacuously: this is the test that it can fail.
import { describe, expect, it } from 'vitest';

import { runBatch } from './batch.js';
import { ViolationKind } from './checker.js';
import { MutantName } from './mutants.js';

function catchRate(mutant: MutantName, membership: boolean): Readonly<Record<string, number>> {
  const b = runBatch({ baseSeed: 301, runs: 200, mutant, membership });
  const caught = b.failures.length;
  console.log(
    `mutant ${mutant}${membership ? ' --membership' : ''}: ${caught}/200 runs with violations ${JSON.stringify(b.kinds)}, ${(b.elapsedMs / 1000).toFixed(1)}s`,
  );
  expect(caught).toBeGreaterThan(0);
  return b.kinds;
}

describe('mutants are caught', () => {
  it('vote-twice: two leaders in one term (§5.2)', () => {
    const kinds = catchRate(MutantName.VoteTwice, false);
    expect(kinds[ViolationKind.ElectionSafety] ?? 0).toBeGreaterThan(0);
  });

  it('commit-old-term: a committed entry is missing from a later leader (§5.4.2, Figure 8)', () => {
    const kinds = catchRate(MutantName.CommitOldTerm, false);
    expect(
      (kinds[ViolationKind.LeaderCompleteness] ?? 0) +
        (kinds[ViolationKind.StateMachineSafety] ?? 0),
    ).toBeGreaterThan(0);
  });

  it('skip-joint: disjoint majorities decide (§4.3), with --membership', () => {
    catchRate(MutantName.SkipJoint, true);
  });
});
