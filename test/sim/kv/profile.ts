// A KV run's world, fixed at its start and drawn from the run's seed: cluster shape, core and
// node limits, network quality, clients, and the schedule of faults (partitions, crashes, crashes
// in the middle of a write, leadership transfers, loss storms). Targets such as "the leader" are
// resolved when a fault fires; a replay prints the schedule and what each fault hit.
import type { SimRng } from '../sim-rng.js';

/** KvNetProfile: how the network treats each message while faults are on. */
export interface KvNetProfile {
  readonly dropRate: number;
  /** dupRate: a Raft message is delivered twice (never a forwarded proposal, see network.ts). */
  readonly dupRate: number;
  /** delaySteps: a message takes 1..delaySteps steps, which reorders messages. */
  readonly delaySteps: number;
  readonly longDelayRate: number;
  readonly longDelaySteps: number;
}

export interface KvRunProfile {
  readonly nodes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** tickSteps: steps per tick (± tickJitterSteps per tick and node). */
  readonly tickSteps: number;
  readonly tickJitterSteps: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** ticksPerSecond: lease seconds (KvServerConfig.ticksPerSecond). */
  readonly ticksPerSecond: number;
  readonly requestTimeoutTicks: number;
  readonly snapshotEntries: number;
  readonly snapshotCatchUpEntries: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  readonly net: KvNetProfile;
  readonly clients: number;
  /** watchers: logical watches kept open across node failures by resuming. */
  readonly watchers: number;
  /** clientGapSteps: an idle client acts again after 1..clientGapSteps steps. */
  readonly clientGapSteps: number;
  /** faultSteps: the fault phase; healAt ≤ faultSteps ends it. */
  readonly faultSteps: number;
  readonly healAt: number;
  /** membershipGapSteps: 0 = no membership changes. */
  readonly membershipGapSteps: number;
  /**
   * membershipMode: 'random' = the world proposes random changes (add learner, promote, remove,
   * replace); 'policy' = KvServer's own membership policy (src/node/membership-policy.ts) runs on
   * the leader while the world opens new tabs and closes some for good.
   */
  readonly membershipMode: 'none' | 'random' | 'policy';
  /**
   * writeSteps: 0 = storage writes complete at once (synchronous); otherwise each lands 1 to
   * writeSteps steps after it was issued (asynchronous, like IndexedDB), in order.
   */
  readonly writeSteps: number;
  /** snapshotSlice: 0 = snapshots encoded in one go; else items per slice, one slice per step. */
  readonly snapshotSlice: number;
}

export const KvPartitionShape = {
  Split: 'split',
  Isolate: 'isolate',
  IsolateLeader: 'isolate-leader',
  LeaderMinority: 'leader-minority',
} as const;
export type KvPartitionShape = (typeof KvPartitionShape)[keyof typeof KvPartitionShape];

export const KvCrashKind = {
  /** Kill: the tab dies; whatever was written stays. */
  Kill: 'kill',
  /** InWrite: the next durable write (a Ready or a snapshot) dies half-way: the batch is lost whole. */
  InWrite: 'in-write',
  /** Close: a graceful close; a leader hands over first (KvServer.stop({handOver})). */
  Close: 'close',
} as const;
export type KvCrashKind = (typeof KvCrashKind)[keyof typeof KvCrashKind];

export const KvTarget = { Random: 'random', Leader: 'leader', Follower: 'follower' } as const;
export type KvTarget = (typeof KvTarget)[keyof typeof KvTarget];

export type KvFault =
  | {
      readonly at: number;
      readonly kind: 'partition';
      readonly shape: KvPartitionShape;
      readonly durationSteps: number;
    }
  | {
      readonly at: number;
      readonly kind: 'crash';
      readonly crash: KvCrashKind;
      readonly target: KvTarget;
      readonly downSteps: number;
    }
  | { readonly at: number; readonly kind: 'transfer' }
  | {
      readonly at: number;
      readonly kind: 'net';
      readonly dropRate: number;
      readonly dupRate: number;
    };

export interface KvProfileOptions {
  readonly nodes?: number | undefined;
  readonly membership: boolean;
  readonly faultSteps?: number | undefined;
  /** writeSteps overrides the per-seed choice (0 = synchronous storage). */
  readonly writeSteps?: number | undefined;
}

export function makeKvProfile(rng: SimRng, o: KvProfileOptions): KvRunProfile {
  const nodes = o.nodes ?? (rng.chance(0.5) ? 3 : 5);
  const mode = rng.intn(10);
  const faultSteps = o.faultSteps ?? rng.between(1200, 2400);
  const calm = rng.chance(0.08);
  return {
    nodes,
    // Mostly the production setting (both on); some runs explore the others.
    preVote: mode !== 8,
    checkQuorum: mode !== 9,
    tickSteps: 10,
    tickJitterSteps: rng.between(0, 2),
    electionTicks: 10,
    heartbeatTicks: 1,
    ticksPerSecond: 10,
    requestTimeoutTicks: rng.pick([25, 50, 80]),
    // Low thresholds so that snapshots, compaction and snapshot installs happen in every run.
    snapshotEntries: rng.pick([10, 20, 50]),
    snapshotCatchUpEntries: rng.pick([0, 5, 20]),
    maxSizePerMsgBytes: rng.pick([256, 4096, 1024 * 1024]),
    maxInflightMsgs: rng.pick([2, 16, 256]),
    net: {
      dropRate: calm ? 0 : rng.pick([0, 0.01, 0.03, 0.06]),
      dupRate: calm ? 0 : rng.pick([0, 0.01, 0.03]),
      delaySteps: rng.pick([2, 5, 10, 20]),
      longDelayRate: calm ? 0 : rng.pick([0, 0.005, 0.02]),
      longDelaySteps: rng.between(50, 300),
    },
    clients: rng.between(4, 8),
    watchers: rng.between(1, 3),
    clientGapSteps: rng.pick([5, 15, 40]),
    faultSteps,
    healAt: calm
      ? Math.floor(faultSteps / 3)
      : rng.between(Math.floor(faultSteps * 0.7), faultSteps),
    membershipGapSteps: o.membership ? rng.pick([150, 300, 600]) : 0,
    membershipMode: o.membership ? rng.pick(['random', 'policy'] as const) : 'none',
    writeSteps: o.writeSteps ?? rng.pick([0, 3, 8, 20]),
    snapshotSlice: rng.pick([0, 1, 4, 50]),
  };
}

export function makeKvSchedule(rng: SimRng, p: KvRunProfile): KvFault[] {
  const out: KvFault[] = [];
  if (p.net.dropRate === 0 && p.net.longDelayRate === 0 && p.healAt < p.faultSteps / 2) return out; // calm run
  const partitionGap = rng.pick([250, 500, 1000]);
  for (
    let t = rng.between(0, partitionGap);
    t < p.healAt;
    t += rng.between(partitionGap / 2, partitionGap * 1.5)
  ) {
    const shape = rng.pick(Object.values(KvPartitionShape));
    out.push({ at: t, kind: 'partition', shape, durationSteps: rng.between(50, 800) });
  }
  const crashGap = rng.pick([200, 400, 800]);
  for (
    let t = rng.between(0, crashGap);
    t < p.healAt;
    t += rng.between(crashGap / 2, crashGap * 1.5)
  ) {
    const crash = rng.pick([
      KvCrashKind.Kill,
      KvCrashKind.Kill,
      KvCrashKind.InWrite,
      KvCrashKind.InWrite,
      KvCrashKind.Close,
    ]);
    const target = rng.pick(Object.values(KvTarget));
    const downSteps = rng.chance(0.1) ? rng.between(400, 1000) : rng.between(5, 300);
    out.push({ at: t, kind: 'crash', crash, target, downSteps });
  }
  if (rng.chance(0.4)) {
    for (let i = rng.between(1, 3); i > 0; i--)
      out.push({ at: rng.between(0, p.healAt), kind: 'transfer' });
  }
  if (rng.chance(0.3)) {
    const t = rng.between(0, p.healAt);
    out.push({ at: t, kind: 'net', dropRate: rng.pick([0.2, 0.4]), dupRate: rng.pick([0, 0.1]) });
    out.push({
      at: Math.min(p.healAt, t + rng.between(100, 500)),
      kind: 'net',
      dropRate: p.net.dropRate,
      dupRate: p.net.dupRate,
    });
  }
  out.sort((a, b) => a.at - b.at);
  return out;
}

export function describeKvProfile(p: KvRunProfile): string[] {
  return [
    `nodes=${p.nodes} preVote=${p.preVote} checkQuorum=${p.checkQuorum} electionTicks=${p.electionTicks} heartbeatTicks=${p.heartbeatTicks} tick=${p.tickSteps}±${p.tickJitterSteps} steps ticksPerSecond=${p.ticksPerSecond}`,
    `requestTimeoutTicks=${p.requestTimeoutTicks} snapshotEntries=${p.snapshotEntries} catchUp=${p.snapshotCatchUpEntries} maxSizePerMsgBytes=${p.maxSizePerMsgBytes} maxInflightMsgs=${p.maxInflightMsgs}`,
    `net: drop=${p.net.dropRate} dup=${p.net.dupRate} delay=1..${p.net.delaySteps} long=${p.net.longDelayRate}@..${p.net.longDelaySteps}`,
    `clients=${p.clients} watchers=${p.watchers} gap=1..${p.clientGapSteps}; faults until t=${p.healAt} (phase ${p.faultSteps}); membership ${p.membershipMode} every 1..${p.membershipGapSteps}; writes ${p.writeSteps === 0 ? 'synchronous' : `land 1..${p.writeSteps} steps later`}; snapshots ${p.snapshotSlice === 0 ? 'in one go' : `in slices of ${p.snapshotSlice}`}`,
  ];
}

export function describeKvFault(f: KvFault): string {
  switch (f.kind) {
    case 'partition':
      return `t=${f.at} partition ${f.shape} for ${f.durationSteps} steps`;
    case 'crash':
      return `t=${f.at} crash (${f.crash}) ${f.target} for ${f.downSteps} steps`;
    case 'transfer':
      return `t=${f.at} leadership transfer`;
    case 'net':
      return `t=${f.at} network drop=${f.dropRate} dup=${f.dupRate}`;
  }
}
