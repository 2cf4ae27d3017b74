import { SeededRng } from '../../src/raft/index.js';

/**
 * SimRng is the world's one random source (a SeededRng with helpers). Every
 * random choice of a run (network, faults, clients, each node's own Rng seed)
 * is drawn from it, in event order, so a seed reproduces the run exactly.
 */
export class SimRng extends SeededRng {
  /** chance returns true with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** between returns an integer in [lo, hi] (inclusive). */
  between(lo: number, hi: number): number {
    return hi <= lo ? lo : lo + this.intn(hi - lo + 1);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.intn(xs.length)]!;
  }

  /** shuffled returns a shuffled copy (Fisher–Yates). */
  shuffled<T>(xs: readonly T[]): T[] {
    const a = xs.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.intn(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** fork returns an independent SeededRng seeded from this one (a node's election timer). */
  fork(): SeededRng {
    return new SeededRng(this.nextUint32());
  }
}

/** deriveSeed maps (base seed, run number) to a run's seed; the CLI and the tests share it. */
export function deriveSeed(baseSeed: number, run: number): number {
  // splitmix32-style mixing: neighbouring run numbers give unrelated seeds.
  let z = (baseSeed ^ Math.imul(run + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
