// The run's profile (network quality, fault rates, core limits) and its fault
// schedule, both drawn from the world Rng before the run starts. Targets such
// as "the leader" are resolved when the fault fires; the replay prints both
// the schedule and what each fault hit.
import type { SimRng } from './sim-rng.js';

/** NetProfile: how the network treats each message while faults are active. */
export interface NetProfile {
  /** dropRate: probability a message is lost. */
  dropRate: number;
  /** dupRate: probability a message is delivered twice. */
  dupRate: number;
  /** delaySteps: a message takes 1..delaySteps steps (uniform), reordering them. */
  delaySteps: number;
  /** longDelayRate: probability a message is held much longer (up to longDelaySteps). */
  longDelayRate: number;
  longDelaySteps: number;
}

/** RunProfile is everything about a run's world that is fixed at its start. */
export interface RunProfile {
  readonly style: ScheduleStyle;
  readonly nodes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** tickSteps: a node ticks every tickSteps steps, ± tickJitterSteps chosen per node. */
  readonly tickSteps: number;
  readonly tickJitterSteps: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  /** maxUncommittedEntriesSizeBytes bounds a leader's backlog (proposals beyond it are dropped). */
  readonly maxUncommittedEntriesSizeBytes: number;
  readonly net: NetProfile;
  /** persistDelaySteps: a Ready's write completes 0..persistDelaySteps steps after ready(). */
  readonly persistDelaySteps: number;
  /** leaderParallelSend: leaders send MsgApp/heartbeats before their own write completes (thesis §10.2.1). */
  readonly leaderParallelSend: boolean;
  /** crashNewLeaderRate: probability a freshly elected leader crashes within a few ticks (Figure 8 histories). */
  readonly crashNewLeaderRate: number;
  /** crashInPersistRate: probability a leader crashes while a Ready carrying entries is being written. */
  readonly crashInPersistRate: number;
  /** crashAfterPersistRate: probability a node crashes after a write and before sending that Ready's messages. */
  readonly crashAfterPersistRate: number;
  /**
   * crashAfterCommitRate: probability a leader crashes right after durably
   * advancing its commit index, before sending that Ready's messages: the
   * followers have the entries but not the news, and whatever the leader
   * appended meanwhile is on it alone (Figure 8 histories, §5.4.2).
   */
  readonly crashAfterCommitRate: number;
  /**
   * figure8GapSteps: a Figure 8 sequence (see FaultEvent 'figure8') starts
   * about every this many steps; 0 = never.
   */
  readonly figure8GapSteps: number;
  /**
   * reconfigPartitionRate: with --membership, probability that right after
   * the leader applies a change of voters, the network splits the leader and
   * the voters just added from everyone else (reconfiguration under a
   * partition: §4.3's reason for joint consensus).
   */
  readonly reconfigPartitionRate: number;
  /** clientGapSteps: clients act every 1..clientGapSteps steps. */
  readonly clientGapSteps: number;
  /** faultSteps: length of the phase with faults; healAt ≤ faultSteps ends it. */
  readonly faultSteps: number;
  readonly healAt: number;
  /** snapshotEvery: with --snapshots, a node snapshots after applying this many entries; 0 = never. */
  readonly snapshotEvery: number;
  /** snapshotKeep: entries kept behind the snapshot index when compacting. */
  readonly snapshotKeep: number;
  /** membershipGapSteps: with --membership, a change is attempted every 1..membershipGapSteps steps. */
  readonly membershipGapSteps: number;
}

export const PartitionShape = {
  /** Split: a random non-empty proper subset against the rest. */
  Split: 'split',
  /** Isolate: one random node alone. */
  Isolate: 'isolate',
  /** IsolateLeader: the current leader alone. */
  IsolateLeader: 'isolate-leader',
  /** LeaderMinority: the current leader with a minority (it keeps taking proposals it cannot commit). */
  LeaderMinority: 'leader-minority',
} as const;
export type PartitionShape = (typeof PartitionShape)[keyof typeof PartitionShape];

export const CrashTarget = {
  Random: 'random',
  Leader: 'leader',
  Follower: 'follower',
} as const;
export type CrashTarget = (typeof CrashTarget)[keyof typeof CrashTarget];

export type FaultEvent =
  | {
      readonly at: number;
      readonly kind: 'partition';
      readonly shape: PartitionShape;
      readonly durationSteps: number;
    }
  | {
      readonly at: number;
      readonly kind: 'crash';
      readonly target: CrashTarget;
      readonly downSteps: number;
    }
  | {
      readonly at: number;
      readonly kind: 'net';
      readonly dropRate: number;
      readonly dupRate: number;
    }
  /**
   * figure8: the history of the Raft paper's Figure 8 (§5.4.2), built from
   * generic faults: the leader is cut off with a minority (so what it appends
   * reaches only that minority); the next leader elected elsewhere crashes
   * right after writing its first entries, before sending them (so they
   * exist on it alone); after the partition heals, the leader elected next
   * crashes right after it durably advances its commit index, before sending
   * anything more. An old leader may then return with entries of a later
   * term than what the rest holds.
   */
  | {
      readonly at: number;
      readonly kind: 'figure8';
      readonly isolateSteps: number;
      readonly downSteps: number;
    };

export interface ProfileOptions {
  readonly nodes?: number | undefined;
  readonly snapshots: boolean;
  readonly membership: boolean;
  /** knownHazards: see SimOptions.knownHazards. */
  readonly knownHazards?: boolean | undefined;
  /** faultSteps overrides the length of the fault phase. */
  readonly faultSteps?: number | undefined;
  /** preVote / checkQuorum override the per-seed choice. */
  readonly preVote?: boolean | undefined;
  readonly checkQuorum?: boolean | undefined;
}

/**
 * ScheduleStyle: the kind of trouble a run is about. Each seed draws one, so
 * a batch of runs mixes them.
 */
export const ScheduleStyle = {
  /** Chaos: everything at once (loss, duplication, partitions, crashes anywhere). */
  Chaos: 'chaos',
  /** Figure8: repeated Figure 8 sequences on an otherwise quiet network, tiny messages. */
  Figure8: 'figure8',
  /** Elections: leaders crash often, soon after their election: many concurrent campaigns. */
  Elections: 'elections',
  /** Reconfig (with --membership): frequent membership changes, partitions right after them. */
  Reconfig: 'reconfig',
  /** Calm: no faults at all (the baseline must pass too). */
  Calm: 'calm',
} as const;
export type ScheduleStyle = (typeof ScheduleStyle)[keyof typeof ScheduleStyle];

/** makeProfile draws a run's profile. */
export function makeProfile(rng: SimRng, o: ProfileOptions): RunProfile {
  const x = rng.intn(20);
  const style: ScheduleStyle = o.membership
    ? x < 8
      ? ScheduleStyle.Chaos
      : x < 14
        ? ScheduleStyle.Reconfig
        : x < 16
          ? ScheduleStyle.Figure8
          : x < 19
            ? ScheduleStyle.Elections
            : ScheduleStyle.Calm
    : x < 8
      ? ScheduleStyle.Chaos
      : x < 14
        ? ScheduleStyle.Figure8
        : x < 18
          ? ScheduleStyle.Elections
          : ScheduleStyle.Calm;
  const reconfig = style === ScheduleStyle.Reconfig;
  // Joint consensus matters most from three voters (a replacement, or two promotions at once).
  const nodes = o.nodes ?? (reconfig ? (rng.chance(0.8) ? 3 : 5) : rng.chance(0.5) ? 3 : 5);
  // Most runs use the production setting; some explore the others.
  // With neither PreVote nor CheckQuorum, a member cut off during a
  // reconfiguration comes back with a higher term and a configuration that
  // no longer names the leader: it ignores the leader's messages (a lower
  // term), answers nothing (as etcd), and its votes never reach the leader.
  // Membership runs therefore keep one of the two, unless --known-hazards.
  const drawn = rng.intn(10);
  const mode = drawn === 9 && o.membership && !o.knownHazards ? 8 : drawn;
  const preVote = o.preVote ?? (mode < 7 || mode === 7);
  const checkQuorum = o.checkQuorum ?? (mode < 7 || mode === 8);
  const tickSteps = 10;
  const calm = style === ScheduleStyle.Calm;
  const fig8 = style === ScheduleStyle.Figure8;
  // A Figure 8 sequence takes several election timeouts: those runs are longer.
  const faultSteps = o.faultSteps ?? (fig8 ? rng.between(3000, 4500) : rng.between(1500, 3000));
  // One entry per MsgApp (a cap below any payload) makes followers ack old
  // entries separately from a new leader's first entry: the Figure 8 window.
  const maxSizePerMsgBytes = fig8 ? rng.pick([1, 1, 16]) : rng.pick([1, 16, 64, 1024 * 1024]);
  const elections = style === ScheduleStyle.Elections;
  return {
    style,
    nodes,
    preVote,
    checkQuorum,
    tickSteps,
    tickJitterSteps: rng.between(0, 2),
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsgBytes,
    maxInflightMsgs: fig8 ? rng.pick([1, 1, 2]) : rng.pick([1, 2, 4, 256]),
    // With tiny messages a follower catches up one entry per round trip: keep
    // the backlog a cut-off leader can pile up within what the heal allows.
    maxUncommittedEntriesSizeBytes:
      maxSizePerMsgBytes <= 16 ? rng.pick([128, 512]) : rng.pick([128, 512, 4096]),
    net: {
      dropRate: calm ? 0 : fig8 ? rng.pick([0, 0.01]) : rng.pick([0, 0.01, 0.03, 0.06, 0.1]),
      dupRate: calm ? 0 : rng.pick([0, 0.01, 0.03, 0.05]),
      delaySteps: rng.pick([3, 8, 15, 30]),
      longDelayRate: calm || fig8 ? 0 : rng.pick([0, 0.005, 0.02]),
      longDelaySteps: rng.between(50, 300),
    },
    persistDelaySteps: rng.pick([0, 2, 5, 12]),
    leaderParallelSend: rng.chance(fig8 ? 0.5 : 0.75),
    crashNewLeaderRate: calm
      ? 0
      : elections
        ? rng.pick([0.2, 0.4, 0.6])
        : fig8
          ? rng.pick([0, 0.05])
          : rng.pick([0, 0.05, 0.2, 0.4]),
    crashInPersistRate: calm ? 0 : rng.pick([0, 0.01, 0.05]),
    crashAfterPersistRate: calm ? 0 : rng.pick([0, 0.002, 0.01]),
    crashAfterCommitRate: calm ? 0 : rng.pick([0, 0, 0.02, 0.1]),
    figure8GapSteps: fig8
      ? rng.pick([250, 400])
      : style === ScheduleStyle.Chaos
        ? rng.pick([0, 600, 1000])
        : 0,
    reconfigPartitionRate: reconfig
      ? rng.pick([0.5, 0.8])
      : o.membership && !calm
        ? rng.pick([0, 0.3])
        : 0,
    clientGapSteps: rng.pick([4, 10, 25, 60]),
    faultSteps,
    healAt: calm
      ? Math.floor(faultSteps / 4)
      : rng.between(Math.floor(faultSteps * (fig8 ? 0.9 : 0.6)), faultSteps),
    snapshotEvery: o.snapshots ? rng.pick([3, 8, 20, 50]) : 0,
    snapshotKeep: rng.pick([0, 1, 5]),
    membershipGapSteps: !o.membership
      ? 0
      : reconfig
        ? rng.pick([40, 80])
        : rng.pick([100, 250, 500]),
  };
}

/** makeSchedule draws the scheduled faults of the fault phase (before healAt). */
export function makeSchedule(rng: SimRng, p: RunProfile): FaultEvent[] {
  const out: FaultEvent[] = [];
  if (p.style === ScheduleStyle.Calm) return out;
  // Figure 8 sequences are built from precisely timed faults: nothing else interferes.
  const fig8 = p.style === ScheduleStyle.Figure8;
  const quiet = fig8 || p.style === ScheduleStyle.Reconfig;
  const partitionGap = fig8
    ? Infinity
    : quiet
      ? 3000
      : p.style === ScheduleStyle.Elections
        ? 1600
        : rng.pick([200, 400, 800, 1600]);
  for (
    let t = rng.between(0, partitionGap);
    t < p.healAt;
    t += rng.between(partitionGap / 2, partitionGap * 1.5)
  ) {
    const shape = rng.pick(Object.values(PartitionShape));
    out.push({ at: t, kind: 'partition', shape, durationSteps: rng.between(50, 1200) });
  }
  const crashGap = fig8
    ? Infinity
    : quiet
      ? 2500
      : p.style === ScheduleStyle.Elections
        ? rng.pick([100, 200])
        : rng.pick([150, 300, 600, 1200]);
  for (
    let t = rng.between(0, crashGap);
    t < p.healAt;
    t += rng.between(crashGap / 2, crashGap * 1.5)
  ) {
    const target =
      p.style === ScheduleStyle.Elections
        ? CrashTarget.Leader
        : rng.pick(Object.values(CrashTarget));
    const downSteps = rng.chance(0.1) ? rng.between(500, 1500) : rng.between(5, 400);
    out.push({ at: t, kind: 'crash', target, downSteps });
  }
  if (p.figure8GapSteps > 0) {
    const g = p.figure8GapSteps;
    for (let t = rng.between(50, g); t < p.healAt; t += rng.between(g / 2, g * 1.5)) {
      // Long enough for the majority to elect a leader while the old one is cut off.
      const isolateSteps = rng.between(200, 400);
      out.push({
        at: t,
        kind: 'figure8',
        isolateSteps,
        downSteps: isolateSteps + rng.between(150, 400),
      });
    }
  }
  if (!quiet && rng.chance(0.3)) {
    // A storm: heavy loss for a while, then back to the profile's rates.
    const t = rng.between(0, p.healAt);
    out.push({ at: t, kind: 'net', dropRate: rng.pick([0.2, 0.4]), dupRate: rng.pick([0, 0.1]) });
    out.push({
      at: Math.min(p.healAt, t + rng.between(100, 600)),
      kind: 'net',
      dropRate: p.net.dropRate,
      dupRate: p.net.dupRate,
    });
  }
  out.sort((a, b) => a.at - b.at);
  return out;
}

export function describeProfile(p: RunProfile): string[] {
  return [
    `style=${p.style} nodes=${p.nodes} preVote=${p.preVote} checkQuorum=${p.checkQuorum} electionTicks=${p.electionTicks} heartbeatTicks=${p.heartbeatTicks} tick=${p.tickSteps}±${p.tickJitterSteps} steps`,
    `maxSizePerMsgBytes=${p.maxSizePerMsgBytes} maxInflightMsgs=${p.maxInflightMsgs} maxUncommittedEntriesSizeBytes=${p.maxUncommittedEntriesSizeBytes}`,
    `net: drop=${p.net.dropRate} dup=${p.net.dupRate} delay=1..${p.net.delaySteps} long=${p.net.longDelayRate}@..${p.net.longDelaySteps}`,
    `persist delay=0..${p.persistDelaySteps} leaderParallelSend=${p.leaderParallelSend} crashNewLeader=${p.crashNewLeaderRate} crashInPersist=${p.crashInPersistRate} crashAfterPersist=${p.crashAfterPersistRate} crashAfterCommit=${p.crashAfterCommitRate}`,
    `figure8 every ~${p.figure8GapSteps} steps; reconfigPartition=${p.reconfigPartitionRate}; clients every 1..${p.clientGapSteps} steps; faults until t=${p.healAt} (phase ${p.faultSteps}); snapshotEvery=${p.snapshotEvery} keep=${p.snapshotKeep}; membership every 1..${p.membershipGapSteps}`,
  ];
}

export function describeFault(f: FaultEvent): string {
  switch (f.kind) {
    case 'partition':
      return `t=${f.at} partition ${f.shape} for ${f.durationSteps} steps`;
    case 'crash':
      return `t=${f.at} crash ${f.target} for ${f.downSteps} steps`;
    case 'net':
      return `t=${f.at} network drop=${f.dropRate} dup=${f.dupRate}`;
    case 'figure8':
      return `t=${f.at} figure 8: leader cut off with a minority for ${f.isolateSteps} steps, next leaders crash (down ${f.downSteps} steps)`;
  }
}
