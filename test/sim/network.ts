// The simulated network: per-message delay (which also reorders), loss,
// duplication, and at most one partition at a time.
import type { NodeId } from '../../src/raft/index.js';
import type { NetProfile } from './faults.js';
import type { SimRng } from './sim-rng.js';

/** Partition cuts `side` off from everyone else (nodes added later join the other side). */
export interface Partition {
  readonly id: number;
  readonly side: ReadonlySet<NodeId>;
  readonly what: string;
}

export class Network {
  partition: Partition | undefined;
  dropRate: number;
  dupRate: number;
  longDelayRate: number;
  /** faults: while false (after heal) nothing is lost, duplicated or held long. */
  faults = true;

  constructor(
    private readonly rng: SimRng,
    private readonly profile: NetProfile,
  ) {
    this.dropRate = profile.dropRate;
    this.dupRate = profile.dupRate;
    this.longDelayRate = profile.longDelayRate;
  }

  /** blocked: is the link between a and b cut by the current partition? */
  blocked(a: NodeId, b: NodeId): boolean {
    const p = this.partition;
    return p !== undefined && p.side.has(a) !== p.side.has(b);
  }

  /**
   * plan decides a message's fate at send time: the delays of its copies
   * (empty: lost). Partitions are applied at delivery time.
   */
  plan(): number[] {
    if (this.faults && this.rng.chance(this.dropRate)) return [];
    const copies = this.faults && this.rng.chance(this.dupRate) ? 2 : 1;
    const out: number[] = [];
    for (let i = 0; i < copies; i++) {
      const long = this.faults && this.rng.chance(this.longDelayRate);
      out.push(
        long
          ? this.rng.between(this.profile.delaySteps, this.profile.longDelaySteps)
          : this.rng.between(1, this.profile.delaySteps),
      );
    }
    return out;
  }

  /** current is the partition in force, if any. */
  current(): Partition | undefined {
    return this.partition;
  }

  heal(): void {
    this.faults = false;
    this.partition = undefined;
  }
}
