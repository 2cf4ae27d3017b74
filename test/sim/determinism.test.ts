// A seed must reproduce its run exactly: that is what makes a printed seed a
// bug report. Two runs of one seed (and options) give the same trace hash;
// other seeds give other runs.
import { describe, expect, it } from 'vitest';

import { deriveSeed } from './sim-rng.js';
import { runSimulation, type SimOptions } from './simulator.js';

describe('determinism', () => {
  const cases: [string, Omit<SimOptions, 'seed'>][] = [
    ['plain', {}],
    ['--membership --snapshots', { membership: true, snapshots: true }],
    ['--mutant commit-old-term', { mutant: 'commit-old-term' }],
  ];
  for (const [name, o] of cases) {
    it(`${name}: the same seed twice gives the same trace hash`, () => {
      for (let i = 0; i < 4; i++) {
        const seed = deriveSeed(401, i);
        const a = runSimulation({ ...o, seed });
        const b = runSimulation({ ...o, seed });
        expect(b.traceHash).toBe(a.traceHash);
        expect(b.stats).toEqual(a.stats);
        expect(b.summary).toEqual(a.summary);
      }
    });
  }

  it('different seeds give different runs', () => {
    const hashes = new Set<string>();
    for (let i = 0; i < 8; i++) hashes.add(runSimulation({ seed: deriveSeed(402, i) }).traceHash);
    expect(hashes.size).toBe(8);
  });

  it('keeping the trace does not change the run', () => {
    const seed = deriveSeed(403, 0);
    const a = runSimulation({ seed, membership: true });
    const b = runSimulation({ seed, membership: true, keepTrace: true });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.trace?.length ?? 0).toBeGreaterThan(100);
  });
});
